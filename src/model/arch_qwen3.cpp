#include <stdexcept>

#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {
namespace {

// No biases; each head of q and k is RMS-normalised (attn_q_norm, attn_k_norm) before
// rotate-half RoPE. The head dimension comes from attention.key_length and need not be
// embedding_length / head_count.
AttentionSpec qwen3_attention(const HParams& hp) {
    AttentionSpec attention = standard_attention(hp);
    attention.rope_layout = RopeLayout::RotateHalf;
    attention.qk_norm = true;
    return attention;
}

}  // namespace

UnitChain build_qwen3(const gguf::File& f, HParams& hp) {
    return build_uniform_decoder(f, hp, qwen3_attention(hp));
}

// Qwen3-MoE: softmax top-k renormalised to sum to 1, no shared expert.
UnitChain build_qwen3moe(const gguf::File& f, HParams& hp) {
    if (hp.n_expert == 0) throw std::runtime_error("model: qwen3moe.expert_count missing");
    MoeSpec moe = MoeSpec::from_gguf(f, hp);
    moe.routing.score = RoutingPolicy::Score::Softmax;
    moe.routing.normalize = true;
    return build_uniform_decoder(f, hp, qwen3_attention(hp), moe);
}

}  // namespace ms::model
