#include "model/layer_math.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/activation.h"
#include "model/rope.h"
#include "tensor/dtype.h"

namespace ms::model {

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
    // Squares in float, summed in double, mean and scale in float: llama.cpp's rounding, so
    // that quantizing the result to 8 bits rounds the same way.
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i] * x[i]);
    const float mean = float(sum_sq / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void apply_rope(float* vec, int64_t n_heads, int64_t head_dim, int32_t pos, float theta,
                float position_scale, RopeLayout layout) {
    Rope rope = Rope::plain(theta, head_dim, layout);
    rope.freq_scale = position_scale;
    rope.rotate(vec, n_heads, head_dim, pos);
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
    kernels::silu_gate(gate, up, n);
}

float round_to_half(float x) {
    constexpr float kSmallestNormal = 6.103515625e-05f;  // 2^-14
    const float magnitude = std::fabs(x);
    // Below the normal range half precision is fixed-point with spacing 2^-24; above it the
    // spacing is 2^-10 of the value's binade. Dividing by a power of two is exact, and
    // nearbyint rounds ties to even in the default rounding mode.
    int exponent = 0;
    std::frexp(std::max(magnitude, kSmallestNormal), &exponent);
    const float spacing = std::ldexp(1.0f, exponent - 11);
    return std::copysign(std::nearbyint(magnitude / spacing) * spacing, x);
}

namespace {

// GELU (tanh form) of a value already in half precision, rounded to half: one table entry.
float gelu_tanh_rounded(float h) {
    constexpr float kSqrt2OverPi = 0.79788456080286535588f;
    constexpr float kCubicCoefficient = 0.044715f;
    return round_to_half(0.5f * h *
                         (1.0f + std::tanh(kSqrt2OverPi * h * (1.0f + kCubicCoefficient * h * h))));
}

// Indexed by the half-precision bits of the input; built once (256 KiB, stays in L2).
const std::vector<float>& gelu_half_table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(size_t(1) << 16);
        for (size_t bits = 0; bits < t.size(); ++bits)
            t[bits] = gelu_tanh_rounded(fp16_to_fp32(uint16_t(bits)));
        return t;
    }();
    return table;
}

}  // namespace

float gelu_tanh_half_table(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return gelu_half_table()[fp32_to_fp16(x)];
}

void geglu(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) gate[i] = gelu_tanh_half_table(gate[i]) * up[i];
}

int32_t first_visible_position(int32_t pos, int32_t sliding_window) {
    return sliding_window > 0 ? std::max(0, pos - sliding_window + 1) : 0;
}

}  // namespace ms::model

#include "model/unit.h"

namespace ms::model {

void rms_norm_rows(const Activations& x, const float* weight, float eps, Activations& out) {
    out.resize(x.rows, x.cols);
    for (int64_t i = 0; i < x.rows; ++i) rms_norm(x.row(i), weight, x.cols, eps, out.row(i));
}

void rms_norm_rows_in_place(Activations& x, const float* weight, float eps) {
    for (int64_t i = 0; i < x.rows; ++i) rms_norm(x.row(i), weight, x.cols, eps, x.row(i));
}

void rms_norm_heads(float* row, int64_t n_heads, int64_t head_dim, const float* weight, float eps) {
    for (int64_t h = 0; h < n_heads; ++h)
        rms_norm(row + h * head_dim, weight, head_dim, eps, row + h * head_dim);
}

}  // namespace ms::model
