#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ms::model {
namespace {

// The dimension pair whose wavelength fits n_rotations times into the original context.
float correction_dim(int64_t n_dims, int64_t n_ctx_orig, float n_rotations, float base) {
    return float(n_dims) *
           std::log(float(n_ctx_orig) / (n_rotations * 2.0f * std::numbers::pi_v<float>)) /
           (2.0f * std::log(base));
}

}  // namespace

Rope Rope::plain(float base, int64_t n_dims, RopeLayout layout) {
    Rope r;
    r.base = base;
    r.n_dims = n_dims;
    r.layout = layout;
    return r;
}

Rope Rope::yarn(float base, int64_t n_dims, RopeLayout layout, float factor, int64_t n_ctx_orig,
                float magnitude, float beta_fast, float beta_slow) {
    Rope r = plain(base, n_dims, layout);
    r.freq_scale = 1.0f / factor;
    r.ext_factor = 1.0f;
    r.corr_low = std::max(0.0f, std::floor(correction_dim(n_dims, n_ctx_orig, beta_fast, base)));
    r.corr_high =
        std::min(float(n_dims - 1), std::ceil(correction_dim(n_dims, n_ctx_orig, beta_slow, base)));
    r.magnitude = magnitude;
    return r;
}

// The angle of pair i is pos * base^(-2i/n_dims), built up by repeated multiplication in
// float as llama.cpp does, so that both round the same way.
void Rope::rotate(float* vec, int64_t n_heads, int64_t head_stride, int32_t pos) const {
    const float step = std::pow(base, -2.0f / float(n_dims));
    const int64_t half = n_dims / 2;
    const bool adjacent = layout == RopeLayout::AdjacentPairs;
    float extrapolated = float(pos);
    for (int64_t i = 0; i < half; ++i, extrapolated *= step) {
        float angle = freq_scale * extrapolated;
        if (ext_factor != 0.0f) {
            const float y = (float(i) - corr_low) / std::max(0.001f, corr_high - corr_low);
            const float mix = (1.0f - std::clamp(y, 0.0f, 1.0f)) * ext_factor;
            angle = angle * (1.0f - mix) + extrapolated * mix;
        }
        const float c = std::cos(angle) * magnitude, s = std::sin(angle) * magnitude;
        const int64_t a = adjacent ? 2 * i : i;
        const int64_t b = adjacent ? 2 * i + 1 : i + half;
        for (int64_t h = 0; h < n_heads; ++h) {
            float* head = vec + h * head_stride;
            const float x0 = head[a], x1 = head[b];
            head[a] = x0 * c - x1 * s;
            head[b] = x0 * s + x1 * c;
        }
    }
}

}  // namespace ms::model
