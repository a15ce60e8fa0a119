#include <cstring>

#include "kernels/matmul.h"
#include "kernels/quant_blocks.h"
#include "kernels/unpack_blocks.h"

namespace ms::kernels {
namespace {

template <typename Block>
void dequantize_legacy(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const Block*>(src);
    for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
        const UnpackedBlock u = unpack(blocks[b]);
        for (int j = 0; j < kQK; ++j) dst[j] = float(u.q[j]) * u.d + u.m;
    }
}

template <typename Block>
void dequantize_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const Block*>(src);
    for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
        const UnpackedSuperBlock u = unpack(blocks[b]);
        for (int s = 0; s < u.n_sub; ++s) {
            const float scale = u.d * float(u.scale[s]);
            const float min = u.dmin * float(u.min[s]);
            for (int j = s * u.sub_len; j < (s + 1) * u.sub_len; ++j)
                dst[j] = scale * float(u.q[j]) - min;
        }
    }
}

template <float (*ToFloat)(uint16_t)>
void dequantize_half(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t k = 0; k < n; ++k) dst[k] = ToFloat(h[k]);
}

}  // namespace

bool supports(DType type) {
    switch (type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case DType::F32:
            std::memcpy(dst, src, size_t(n) * sizeof(float));
            return;
        case DType::F16:
            return dequantize_half<fp16_to_fp32>(src, dst, n);
        case DType::BF16:
            return dequantize_half<bf16_to_fp32>(src, dst, n);
        case DType::Q4_0:
            return dequantize_legacy<BlockQ4_0>(src, dst, n);
        case DType::Q4_1:
            return dequantize_legacy<BlockQ4_1>(src, dst, n);
        case DType::Q5_0:
            return dequantize_legacy<BlockQ5_0>(src, dst, n);
        case DType::Q5_1:
            return dequantize_legacy<BlockQ5_1>(src, dst, n);
        case DType::Q8_0:
            return dequantize_legacy<BlockQ8_0>(src, dst, n);
        case DType::Q4_K:
            return dequantize_k<BlockQ4_K>(src, dst, n);
        case DType::Q5_K:
            return dequantize_k<BlockQ5_K>(src, dst, n);
        case DType::Q6_K:
            return dequantize_k<BlockQ6_K>(src, dst, n);
        default:
            return;  // unsupported: callers check supports() first
    }
}

}  // namespace ms::kernels
