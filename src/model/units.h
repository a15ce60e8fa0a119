// The units a transformer is built from. Each owns views of its weights (and the attention
// unit its layer's KV cache) and runs forward on a batch slice; see unit.h.
#pragma once
#include <memory>
#include <string>

#include "model/hparams.h"
#include "model/moe_spec.h"
#include "model/unit.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

// Token ids -> embedding rows (token_embd).
std::unique_ptr<Unit> make_embedding(const gguf::File& f, const HParams& hp);
// Pre-norm multi-head / grouped-query attention with RoPE, residual added.
std::unique_ptr<Unit> make_attention(const gguf::File& f, const HParams& hp, int64_t layer);
// Pre-norm SwiGLU feed-forward, residual added.
std::unique_ptr<Unit> make_ffn(const gguf::File& f, const HParams& hp, int64_t layer);
// Pre-norm mixture of SwiGLU experts routed by spec's policy, plus its shared expert if any;
// residual added.
std::unique_ptr<Unit> make_moe(const gguf::File& f, const HParams& hp, int64_t layer,
                               const MoeSpec& spec);
// Final norm and classifier (output.weight, or the tied token_embd).
std::unique_ptr<Unit> make_head(const gguf::File& f, const HParams& hp);

// Implemented by attention units: the layer's KV storage, sized in blocks of tokens.
class KvHolder {
public:
    virtual ~KvHolder() = default;
    virtual void reserve_kv(int32_t n_blocks, int32_t block_size) = 0;
    virtual int64_t kv_bytes_per_token() const = 0;
    // What the cache would take if every query head stored its own keys and values in full
    // (for comparison: grouped-query and latent attention store less).
    virtual int64_t uncompressed_kv_bytes_per_token() const = 0;
};

}  // namespace ms::model
