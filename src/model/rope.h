// Rotary position embedding with optional YaRN context extension (as ggml computes it), for
// units whose RoPE goes beyond apply_rope's plain form (DeepSeek's MLA uses YaRN).
#pragma once
#include <cstdint>

#include "model/hparams.h"

namespace ms::model {

struct Rope {
    float base = 10000.0f;
    int64_t n_dims = 0;  // rotated leading dimensions of each head
    RopeLayout layout = RopeLayout::AdjacentPairs;
    float freq_scale = 1.0f;  // 1 / context scaling factor
    // YaRN: dimension pairs below corr_low keep their original frequency (extrapolate), those
    // above corr_high are interpolated by freq_scale, a linear ramp between. ext_factor 0
    // turns the ramp off (every pair interpolated).
    float ext_factor = 0.0f;
    float corr_low = 0.0f, corr_high = 0.0f;
    float magnitude = 1.0f;  // cos and sin are multiplied by it

    static Rope plain(float base, int64_t n_dims, RopeLayout layout);
    // YaRN for a model trained at n_ctx_orig tokens and stretched by `factor`; beta_fast and
    // beta_slow are YaRN's rotation counts that bound the ramp.
    static Rope yarn(float base, int64_t n_dims, RopeLayout layout, float factor,
                     int64_t n_ctx_orig, float magnitude, float beta_fast = 32.0f,
                     float beta_slow = 1.0f);

    // Rotates the first n_dims values of each of n_heads heads (head_stride floats apart).
    void rotate(float* vec, int64_t n_heads, int64_t head_stride, int32_t pos) const;
};

}  // namespace ms::model
