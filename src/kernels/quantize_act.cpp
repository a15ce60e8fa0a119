// Activation quantization as llama.cpp does it on x86 (its AVX/AVX2 quantize_row_q8_{0,1} and the
// reference quantize_row_q8_K), so that our products see the same bytes as llama.cpp's and
// the logits agree closely. Every ISA shares this code.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant_blocks.h"
#include "kernels/row_dot.h"

namespace ms::kernels {
namespace {

float block_abs_max(const float* x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
    return amax;
}

// Round half to even (as _mm256_round_ps and nearbyint do) for |v| < 2^22: adding 1.5 * 2^23
// leaves the rounded integer in the mantissa. Unlike nearbyint, no libm call, so loops vectorize.
inline float round_half_even(float v) {
    constexpr float kMagic = 12582912.0f;
    return (v + kMagic) - kMagic;
}

// Rounds x * inv_scale half to even into q; returns the sum of q.
int quantize_block_q8(const float* x, float inv_scale, int8_t* q) {
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
        q[j] = int8_t(round_half_even(x[j] * inv_scale));
        sum += q[j];
    }
    return sum;
}

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; ++b, x += kQK) {
        const float amax = block_abs_max(x, kQK);
        y[b].d = fp32_to_fp16(amax / 127.0f);
        quantize_block_q8(x, amax != 0.0f ? 127.0f / amax : 0.0f, y[b].qs);
    }
}

void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; ++b, x += kQK) {
        const float amax = block_abs_max(x, kQK);
        const float d = amax / 127.0f;
        y[b].d = fp32_to_fp16(d);
        const int sum = quantize_block_q8(x, amax != 0.0f ? 127.0f / amax : 0.0f, y[b].qs);
        y[b].s = fp32_to_fp16(float(sum) * d);
    }
}

// The scale maps the value of largest magnitude to -127 (sign included), rounding half to even.
void quantize_row_q8_k(const float* x, BlockQ8_K* y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; ++b, x += kQKK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < kQKK; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        BlockQ8_K& out = y[b];
        if (amax == 0.0f) {
            std::memset(&out, 0, sizeof(out));
            continue;
        }
        const float inv_scale = -127.0f / max;
        for (int j = 0; j < kQKK; ++j)
            out.qs[j] = int8_t(std::min(127, int(round_half_even(inv_scale * x[j]))));
        for (int s = 0; s < kQKK / 16; ++s) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += out.qs[16 * s + j];
            out.bsums[s] = int16_t(sum);
        }
        out.d = 1.0f / inv_scale;
    }
}

}  // namespace

ActFormat act_format(DType weight_type) {
    switch (weight_type) {
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
            return ActFormat::Q8_0;
        case DType::Q4_1:
        case DType::Q5_1:
            return ActFormat::Q8_1;
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return ActFormat::Q8_K;
        default:
            return ActFormat::F32;
    }
}

int64_t act_row_bytes(ActFormat format, int64_t cols) {
    switch (format) {
        case ActFormat::Q8_0:
            return cols / kQK * int64_t(sizeof(BlockQ8_0));
        case ActFormat::Q8_1:
            return cols / kQK * int64_t(sizeof(BlockQ8_1));
        case ActFormat::Q8_K:
            return cols / kQKK * int64_t(sizeof(BlockQ8_K));
        case ActFormat::F32:
            break;
    }
    return cols * int64_t(sizeof(float));
}

void quantize_act_row(ActFormat format, const float* x, void* dst, int64_t cols) {
    switch (format) {
        case ActFormat::Q8_0:
            return quantize_row_q8_0(x, static_cast<BlockQ8_0*>(dst), cols / kQK);
        case ActFormat::Q8_1:
            return quantize_row_q8_1(x, static_cast<BlockQ8_1*>(dst), cols / kQK);
        case ActFormat::Q8_K:
            return quantize_row_q8_k(x, static_cast<BlockQ8_K*>(dst), cols / kQKK);
        case ActFormat::F32:
            std::memcpy(dst, x, size_t(cols) * sizeof(float));
            return;
    }
}

}  // namespace ms::kernels
