#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {

// Qwen2: Llama with biases on the Q, K and V projections and rotate-half RoPE.
UnitChain build_qwen2(const gguf::File& f, HParams& hp) {
    AttentionSpec attention = standard_attention(hp);
    attention.rope_layout = RopeLayout::RotateHalf;
    attention.qkv_bias = true;
    return build_uniform_decoder(f, hp, attention);
}

}  // namespace ms::model
