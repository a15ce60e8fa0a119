// The units a transformer is built from. Each owns views of its weights (and the attention
// unit its layer's KV cache) and runs forward on a batch slice; see unit.h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/hparams.h"
#include "model/moe_spec.h"
#include "model/swiglu.h"
#include "model/unit.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

class KvBlocks;

// What distinguishes one architecture's attention layer from another's; the arch builder fills
// it (start from standard_attention) and may give each layer its own.
struct AttentionSpec {
    RopeLayout rope_layout = RopeLayout::AdjacentPairs;
    float rope_base = 10000.0f;
    float rope_position_scale = 1.0f;  // linear RoPE scaling: positions are multiplied by it
    float score_scale = 1.0f;          // multiplies q.k before the softmax
    bool qkv_bias = false;             // attn_{q,k,v}.bias added to the projections (Qwen2)
    bool qk_norm =
        false;  // per-head RMSNorm attn_{q,k}_norm of q and k before RoPE (Qwen3, Gemma 3)
    bool post_norm = false;  // post_attention_norm of the output before the residual (Gemma 3)
    // 0: global. n > 0: a token sees only itself and the n - 1 positions before it. The KV
    // cache still keeps every position; the window is a mask.
    int32_t sliding_window = 0;
};

// Llama's attention for hp: adjacent-pair RoPE at rope.freq_base with the file's linear
// scaling, scores scaled by 1/sqrt(head_dim), no bias, no extra norms, global.
AttentionSpec standard_attention(const HParams& hp);

// What distinguishes one architecture's dense feed-forward layer.
struct FfnSpec {
    GateActivation activation = GateActivation::Silu;
    bool post_norm = false;  // post_ffw_norm of the output before the residual (Gemma 3)
};

// Token ids -> embedding rows (token_embd), each multiplied by row_scale (Gemma: sqrt(n_embd)).
std::unique_ptr<Unit> make_embedding(const gguf::File& f, const HParams& hp,
                                     float row_scale = 1.0f);
// Pre-norm multi-head / grouped-query attention with RoPE, residual added.
std::unique_ptr<Unit> make_attention(const gguf::File& f, const HParams& hp, int64_t layer,
                                     const AttentionSpec& spec);
// Pre-norm gated feed-forward (SwiGLU, or GELU-gated), residual added.
std::unique_ptr<Unit> make_ffn(const gguf::File& f, const HParams& hp, int64_t layer,
                               const FfnSpec& spec = {});
// Pre-norm mixture of SwiGLU experts routed by spec's policy, plus its shared expert if any;
// residual added.
std::unique_ptr<Unit> make_moe(const gguf::File& f, const HParams& hp, int64_t layer,
                               const MoeSpec& spec);
// Final norm and classifier (output.weight, or the tied token_embd); logits soft-capped as
// cap * tanh(logit / cap) when hp.final_logit_softcap is set.
std::unique_ptr<Unit> make_head(const gguf::File& f, const HParams& hp);
// The head's logits for vocabulary ids first_row .. first_row + rows - 1 only (one part of a head
// shared between workers): each is the same number the whole head computes.
std::unique_ptr<Unit> make_head_rows(const gguf::File& f, const HParams& hp, int64_t first_row,
                                     int64_t rows);

// Implemented by attention units: the layer's KV storage, sized in blocks of tokens.
class KvHolder {
public:
    virtual ~KvHolder() = default;
    virtual void reserve_kv(int32_t n_blocks, int32_t block_size) = 0;
    virtual int64_t kv_bytes_per_token() const = 0;
    // What the cache would take if every query head stored its own keys and values in full
    // (for comparison: grouped-query and latent attention store less).
    virtual int64_t uncompressed_kv_bytes_per_token() const = 0;
    // The caches it keeps (keys and values, or one latent cache), for moving blocks out and in.
    virtual std::vector<KvBlocks*> kv_caches() = 0;
};

}  // namespace ms::model
