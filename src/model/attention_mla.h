// Multi-head latent attention (DeepSeek-V2/V3, Kimi K2). Keys and values are compressed into
// one latent vector per token (kv_lora_rank values) plus a single RoPE'd key shared by all
// heads (qk_rope_dim values); only those two are cached. Queries are absorbed into latent
// space through attn_k_b and the attended latents are expanded through attn_v_b, so the
// per-head keys and values are never materialised.
#pragma once
#include <cstdint>
#include <memory>

#include "model/hparams.h"
#include "model/rope.h"
#include "model/unit.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

struct MlaSpec {
    int64_t n_head = 0;
    int64_t q_lora_rank = 0;  // 0: queries from a plain attn_q (DeepSeek-V2-Lite)
    int64_t kv_lora_rank = 0;
    int64_t qk_nope_dim = 0;  // per head: query/key dimensions without position
    int64_t qk_rope_dim = 0;  // per head: dimensions rotated by RoPE
    int64_t v_head_dim = 0;
    Rope rope;
    float kq_scale = 0.0f;  // softmax scale, YaRN's magnitude correction included

    int64_t cache_width() const { return kv_lora_rank + qk_rope_dim; }

    // Takes the shapes from hp (q_lora_rank, kv_lora_rank, head_dim_k_mla, head_dim_v_mla,
    // n_rot) and reads the rope.scaling.* keys the way llama.cpp does for deepseek2.
    // Throws std::runtime_error naming a missing key, or explaining that a file from before
    // llama.cpp split attn_kv_b into attn_k_b/attn_v_b needs reconverting.
    static MlaSpec from_gguf(const gguf::File& f, const HParams& hp);
};

std::unique_ptr<Unit> make_mla_attention(const gguf::File& f, const HParams& hp, int64_t layer,
                                         const MlaSpec& spec);

}  // namespace ms::model
