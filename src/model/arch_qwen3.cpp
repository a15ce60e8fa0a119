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
    return build_uniform_decoder(f, hp, qwen3_attention(hp), MoeSpec::softmax_routed(f, hp, true));
}

}  // namespace ms::model
