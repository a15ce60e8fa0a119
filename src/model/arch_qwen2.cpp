#include "gguf/gguf.h"
#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {
namespace {

// Llama's attention with biases on the Q, K and V projections and rotate-half RoPE.
AttentionSpec qwen2_attention(const HParams& hp) {
    AttentionSpec attention = standard_attention(hp);
    attention.rope_layout = RopeLayout::RotateHalf;
    attention.qkv_bias = true;
    return attention;
}

}  // namespace

UnitChain build_qwen2(const gguf::File& f, HParams& hp) {
    return build_uniform_decoder(f, hp, qwen2_attention(hp));
}

// Qwen2-MoE: softmax top-k, not renormalised (llama.cpp never renormalises here; a file that
// sets expert_weights_norm gets it), plus a shared expert scaled by sigmoid(gate . x).
UnitChain build_qwen2moe(const gguf::File& f, HParams& hp) {
    MoeSpec moe = MoeSpec::softmax_routed(f, hp, f.get_bool("qwen2moe.expert_weights_norm", false));
    if (hp.n_ff_expert == 0) moe.n_ff_expert = hp.n_ff / hp.n_expert_used;
    moe.shared = MoeSpec::Shared::SigmoidGated;
    moe.n_ff_shared = f.get_u32("qwen2moe.expert_shared_feed_forward_length", uint32_t(hp.n_ff));
    return build_uniform_decoder(f, hp, qwen2_attention(hp), moe);
}

}  // namespace ms::model
