// Random weights and activations for the kernel tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.h"

namespace ms::kernels::test_data {

inline const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0,
                               DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                               DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Byte offsets of the fp16 scale fields inside one block; random bytes there would make
// infinities and NaNs, so they get sane values instead.
inline std::vector<int> half_field_offsets(DType t) {
    switch (t) {
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
            return {0};
        case DType::Q4_1:
        case DType::Q5_1:
        case DType::Q4_K:
        case DType::Q5_K:
            return {0, 2};
        case DType::Q6_K:
            return {208};
        default:
            return {};
    }
}

// A weight matrix with random contents: plain types from N(0,1), quantized types from random
// bytes with scales in [-0.05, 0.05].
struct RandomMatrix {
    std::vector<uint8_t> bytes;
    MatView view;

    RandomMatrix(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
        const int64_t row_size = row_bytes(type, cols);
        bytes.resize(size_t(rows * row_size));
        std::normal_distribution<float> normal;
        std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
        if (type == DType::F32 || type == DType::F16 || type == DType::BF16) {
            for (int64_t i = 0; i < rows * cols; ++i) store_plain(type, i, normal(rng));
        } else {
            for (auto& b : bytes) b = uint8_t(rng());
            const int64_t block = traits(type).block_bytes;
            for (int64_t off = 0; off < int64_t(bytes.size()); off += block)
                for (int field : half_field_offsets(type)) {
                    const uint16_t h = fp32_to_fp16(scale(rng));
                    std::memcpy(&bytes[size_t(off + field)], &h, 2);
                }
        }
        view = {type, bytes.data(), rows, cols};
    }

    void store_plain(DType type, int64_t i, float v) {
        if (type == DType::F32) {
            std::memcpy(&bytes[size_t(i * 4)], &v, 4);
            return;
        }
        uint16_t h = fp32_to_fp16(v);
        if (type == DType::BF16) {
            uint32_t bits;
            std::memcpy(&bits, &v, 4);
            h = uint16_t(bits >> 16);
        }
        std::memcpy(&bytes[size_t(i * 2)], &h, 2);
    }

    std::vector<float> dequantized_row(int64_t r) const {
        std::vector<float> out(size_t(view.cols));
        dequantize_row(view.type, bytes.data() + r * row_bytes(view.type, view.cols), out.data(),
                       view.cols);
        return out;
    }
};

inline std::vector<float> random_activations(int64_t n, std::mt19937& rng) {
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal(rng);
    return x;
}

// Column counts to test a type with: one block, a few, and an odd number of blocks.
inline std::vector<int64_t> test_cols(DType t) {
    const int64_t block = traits(t).block_elems;
    if (block == 1) return {8, 33, 576};
    return {block, 3 * block, 17 * block};
}

inline float max_abs(const std::vector<float>& v) {
    float m = 0.0f;
    for (float f : v) m = std::max(m, std::fabs(f));
    return m;
}

}  // namespace ms::kernels::test_data
