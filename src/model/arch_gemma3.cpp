#include <cmath>

#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {
namespace {

// llama.cpp's Gemma 3 reading: five sliding-window layers then one global layer, repeating.
constexpr uint32_t kSlidingWindowPeriod = 6;
// The 27B model (the only one with 62 layers) scales queries by 1/sqrt(n_embd / n_head), its
// query_pre_attn_scalar; the others by 1/sqrt(head_dim). The file does not carry the scalar.
constexpr int64_t kLayersOf27B = 62;

float query_scale(const HParams& hp) {
    const float scalar =
        hp.n_layer == kLayersOf27B ? float(hp.n_embd / hp.n_head) : float(hp.head_dim);
    return 1.0f / std::sqrt(scalar);
}

// Global layers use rope.freq_base with the file's linear scaling; sliding-window layers
// use rope.freq_base_swa (10000 when absent) unscaled.
AttentionSpec layer_attention(const HParams& hp, bool sliding) {
    AttentionSpec spec = standard_attention(hp);
    spec.rope_layout = RopeLayout::RotateHalf;
    spec.score_scale = query_scale(hp);
    spec.qk_norm = true;
    spec.post_norm = true;
    if (sliding) {
        spec.rope_base = hp.rope_theta_swa;
        spec.rope_position_scale = 1.0f;
        spec.sliding_window = int32_t(hp.sliding_window);
    }
    return spec;
}

}  // namespace

// Gemma 3 (text): embeddings scaled by sqrt(n_embd); per block four RMSNorms (attn_norm,
// post_attention_norm, ffn_norm, post_ffw_norm) whose GGUF weights already include Gemma's
// +1; QK-norm; GELU-gated FFN; sliding-window and global layers interleaved; classifier tied
// to token_embd unless the file has output.weight.
UnitChain build_gemma3(const gguf::File& f, HParams& hp) {
    const std::vector<bool> sliding = sliding_window_layers(f, hp, kSlidingWindowPeriod);
    UnitChain chain;
    chain.push_back(make_embedding(f, hp, std::sqrt(float(hp.n_embd))));
    for (int64_t layer = 0; layer < hp.n_layer; ++layer) {
        chain.push_back(make_attention(f, hp, layer, layer_attention(hp, sliding[size_t(layer)])));
        chain.push_back(
            make_ffn(f, hp, layer, {.activation = GateActivation::GeluTanh, .post_norm = true}));
    }
    chain.push_back(make_head(f, hp));
    return chain;
}

}  // namespace ms::model
