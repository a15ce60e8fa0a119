#include "model/layer_math.h"

#include <algorithm>
#include <cmath>

namespace ms::model {

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i]) * x[i];
    const float scale = float(1.0 / std::sqrt(sum_sq / double(n) + eps));
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void apply_rope(float* vec, int64_t n_heads, int64_t head_dim, int32_t pos, float theta,
                RopeLayout layout) {
    const int64_t half = head_dim / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float freq = std::pow(theta, -2.0f * float(i) / float(head_dim));
        const float angle = float(pos) * freq;
        const float c = std::cos(angle), s = std::sin(angle);
        const bool adjacent = layout == RopeLayout::AdjacentPairs;
        const int64_t a = adjacent ? 2 * i : i;
        const int64_t b = adjacent ? 2 * i + 1 : i + half;
        for (int64_t h = 0; h < n_heads; ++h) {
            float* head = vec + h * head_dim;
            const float x0 = head[a], x1 = head[b];
            head[a] = x0 * c - x1 * s;
            head[b] = x0 * s + x1 * c;
        }
    }
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
