// Reference dot products: weights unpacked to integers, exact integer sums per block, then
// the block scales applied in float, in the same grouping llama.cpp uses.
#include <cstddef>

#include "kernels/quant_blocks.h"
#include "kernels/row_dot.h"
#include "kernels/unpack_blocks.h"

namespace ms::kernels {
namespace {

float dot_f32(const void* w_row, const void* act_row, int64_t cols) {
    const auto* w = static_cast<const float*>(w_row);
    const auto* x = static_cast<const float*>(act_row);
    float sum = 0.0f;
    for (int64_t k = 0; k < cols; ++k) sum += w[k] * x[k];
    return sum;
}

template <float (*ToFloat)(uint16_t)>
float dot_half(const void* w_row, const void* act_row, int64_t cols) {
    const auto* w = static_cast<const uint16_t*>(w_row);
    const auto* x = static_cast<const float*>(act_row);
    float sum = 0.0f;
    for (int64_t k = 0; k < cols; ++k) sum += ToFloat(w[k]) * x[k];
    return sum;
}

int dot_int8(const int8_t* a, const int8_t* b, int n) {
    int sum = 0;
    for (int j = 0; j < n; ++j) sum += a[j] * b[j];
    return sum;
}

// Symmetric legacy formats against Q8_0: d_w * d_x * sum(q_w * q_x).
template <typename Block>
float dot_legacy_q8_0(const void* w_row, const void* act_row, int64_t cols) {
    const auto* w = static_cast<const Block*>(w_row);
    const auto* x = static_cast<const BlockQ8_0*>(act_row);
    float sum = 0.0f;
    for (int64_t b = 0; b < cols / kQK; ++b) {
        const UnpackedBlock u = unpack(w[b]);
        sum += u.d * fp16_to_fp32(x[b].d) * float(dot_int8(u.q, x[b].qs, kQK));
    }
    return sum;
}

// Formats with a minimum against Q8_1: the minimum times the activation block sum s.
template <typename Block>
float dot_legacy_q8_1(const void* w_row, const void* act_row, int64_t cols) {
    const auto* w = static_cast<const Block*>(w_row);
    const auto* x = static_cast<const BlockQ8_1*>(act_row);
    float sum = 0.0f;
    for (int64_t b = 0; b < cols / kQK; ++b) {
        const UnpackedBlock u = unpack(w[b]);
        sum += u.d * fp16_to_fp32(x[b].d) * float(dot_int8(u.q, x[b].qs, kQK)) +
               u.m * fp16_to_fp32(x[b].s);
    }
    return sum;
}

// K formats against Q8_K: the minimums use the activation's per-16 sums.
template <typename Block>
float dot_k_q8_k(const void* w_row, const void* act_row, int64_t cols) {
    const auto* w = static_cast<const Block*>(w_row);
    const auto* x = static_cast<const BlockQ8_K*>(act_row);
    float sum = 0.0f;
    for (int64_t b = 0; b < cols / kQKK; ++b) {
        const UnpackedSuperBlock u = unpack(w[b]);
        const int sums_per_sub = u.sub_len / 16;
        int scaled = 0, mins = 0;
        for (int s = 0; s < u.n_sub; ++s) {
            const int offset = s * u.sub_len;
            scaled += u.scale[s] * dot_int8(u.q + offset, x[b].qs + offset, u.sub_len);
            int act_sum = 0;
            for (int i = 0; i < sums_per_sub; ++i) act_sum += x[b].bsums[s * sums_per_sub + i];
            mins += u.min[s] * act_sum;
        }
        sum += u.d * x[b].d * float(scaled) - u.dmin * x[b].d * float(mins);
    }
    return sum;
}

using RowDot = float (*)(const void* w_row, const void* act_row, int64_t cols);

template <RowDot Dot>
void each_row(const void* w, int64_t stride, int64_t n_rows, const void* act_row, int64_t cols,
              float* y) {
    const auto* rows = static_cast<const std::byte*>(w);
    for (int64_t r = 0; r < n_rows; ++r) y[r] = Dot(rows + r * stride, act_row, cols);
}

template <RowDot Dot>
void each_token(const void* w, int64_t stride, int64_t n_rows, const void* act, int64_t act_stride,
                int64_t n_tokens, int64_t cols, float* y, int64_t y_stride) {
    for (int64_t t = 0; t < n_tokens; ++t)
        each_row<Dot>(w, stride, n_rows, static_cast<const std::byte*>(act) + t * act_stride, cols,
                      y + t * y_stride);
}

// The two table shapes, so that one switch maps each type to its row dot product.
struct RowsOf {
    template <RowDot Dot>
    static constexpr DotRows of = each_row<Dot>;
};
struct TokensOf {
    template <RowDot Dot>
    static constexpr DotTokens of = each_token<Dot>;
};

template <typename Shape>
auto scalar_kernel(DType type) -> decltype(Shape::template of<dot_f32>) {
    switch (type) {
        case DType::F32:
            return Shape::template of<dot_f32>;
        case DType::F16:
            return Shape::template of<dot_half<fp16_to_fp32>>;
        case DType::BF16:
            return Shape::template of<dot_half<bf16_to_fp32>>;
        case DType::Q4_0:
            return Shape::template of<dot_legacy_q8_0<BlockQ4_0>>;
        case DType::Q5_0:
            return Shape::template of<dot_legacy_q8_0<BlockQ5_0>>;
        case DType::Q8_0:
            return Shape::template of<dot_legacy_q8_0<BlockQ8_0>>;
        case DType::Q4_1:
            return Shape::template of<dot_legacy_q8_1<BlockQ4_1>>;
        case DType::Q5_1:
            return Shape::template of<dot_legacy_q8_1<BlockQ5_1>>;
        case DType::Q4_K:
            return Shape::template of<dot_k_q8_k<BlockQ4_K>>;
        case DType::Q5_K:
            return Shape::template of<dot_k_q8_k<BlockQ5_K>>;
        case DType::Q6_K:
            return Shape::template of<dot_k_q8_k<BlockQ6_K>>;
        default:
            return nullptr;
    }
}

}  // namespace

DotRows scalar_dot_rows(DType type) {
    return scalar_kernel<RowsOf>(type);
}

DotTokens scalar_dot_tokens(DType type) {
    return scalar_kernel<TokensOf>(type);
}

}  // namespace ms::kernels
