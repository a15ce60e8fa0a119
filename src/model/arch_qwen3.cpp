#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {

// Qwen3: no biases; each head of q and k is RMS-normalised (attn_q_norm, attn_k_norm) before
// rotate-half RoPE. The head dimension comes from attention.key_length and need not be
// embedding_length / head_count.
UnitChain build_qwen3(const gguf::File& f, HParams& hp) {
    AttentionSpec attention = standard_attention(hp);
    attention.rope_layout = RopeLayout::RotateHalf;
    attention.qk_norm = true;
    return build_uniform_decoder(f, hp, attention);
}

}  // namespace ms::model
