#include "model/layer_math.h"

#include <algorithm>
#include <cmath>

#include "model/rope.h"

namespace ms::model {

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i]) * x[i];
    const float scale = float(1.0 / std::sqrt(sum_sq / double(n) + eps));
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void apply_rope(float* vec, int64_t n_heads, int64_t head_dim, int32_t pos, float theta,
                RopeLayout layout) {
    Rope::plain(theta, head_dim, layout).rotate(vec, n_heads, head_dim, pos);
}

void softmax(float* x, int64_t n) {
    const float max = *std::max_element(x, x + n);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace ms::model

#include "model/unit.h"

namespace ms::model {

void rms_norm_rows(const Activations& x, const float* weight, float eps, Activations& out) {
    out.resize(x.rows, x.cols);
    for (int64_t i = 0; i < x.rows; ++i) rms_norm(x.row(i), weight, x.cols, eps, out.row(i));
}

}  // namespace ms::model
