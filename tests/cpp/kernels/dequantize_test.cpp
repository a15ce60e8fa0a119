// dequantize_row on blocks packed here from chosen integers, so the expected values follow
// from the format description rather than from the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/quant_blocks.h"

namespace ms::kernels {
namespace {

constexpr uint16_t kHalf = 0x3800;      // 0.5
constexpr uint16_t kQuarter = 0x3400;   // 0.25
constexpr uint16_t kMinusOne = 0xBC00;  // -1.0

template <typename Block>
std::vector<float> dequantize_one(DType type, const Block& block, int n) {
    std::vector<float> out(size_t(n), NAN);
    dequantize_row(type, &block, out.data(), n);
    return out;
}

// Packs element j into the low nibble of byte j and element j+16 into its high nibble.
void pack_nibbles(const int* q, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = uint8_t(q[j] | q[j + 16] << 4);
}

TEST(Dequantize, Q4_0) {
    BlockQ4_0 b{};
    b.d = kHalf;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = (j * 7) % 16;
    pack_nibbles(q, b.qs);
    const auto out = dequantize_one(DType::Q4_0, b, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.5f * float(q[j] - 8)) << j;
}

TEST(Dequantize, Q4_1) {
    BlockQ4_1 b{};
    b.d = kQuarter;
    b.m = kMinusOne;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = (j * 5 + 3) % 16;
    pack_nibbles(q, b.qs);
    const auto out = dequantize_one(DType::Q4_1, b, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.25f * float(q[j]) - 1.0f) << j;
}

template <typename Block>
void pack_q5(const int* q, Block& b) {
    int low[32];
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j) {
        low[j] = q[j] & 15;
        qh |= uint32_t(q[j] >> 4) << j;
    }
    pack_nibbles(low, b.qs);
    std::memcpy(b.qh, &qh, 4);  // little endian, as in the file
}

TEST(Dequantize, Q5_0) {
    BlockQ5_0 b{};
    b.d = kHalf;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = (j * 11 + 1) % 32;
    pack_q5(q, b);
    const auto out = dequantize_one(DType::Q5_0, b, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.5f * float(q[j] - 16)) << j;
}

TEST(Dequantize, Q5_1) {
    BlockQ5_1 b{};
    b.d = kQuarter;
    b.m = kMinusOne;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = (j * 13 + 5) % 32;
    pack_q5(q, b);
    const auto out = dequantize_one(DType::Q5_1, b, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.25f * float(q[j]) - 1.0f) << j;
}

TEST(Dequantize, Q8_0) {
    BlockQ8_0 b{};
    b.d = kQuarter;
    for (int j = 0; j < 32; ++j) b.qs[j] = int8_t(j * 8 - 128);
    const auto out = dequantize_one(DType::Q8_0, b, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.25f * float(j * 8 - 128)) << j;
}

// The 12-byte 6-bit scale/min packing of Q4_K and Q5_K.
void pack_k_scales(const int* scale, const int* min, uint8_t* out) {
    for (int j = 0; j < 4; ++j) {
        out[j] = uint8_t((scale[j] & 63) | (scale[j + 4] >> 4) << 6);
        out[j + 4] = uint8_t((min[j] & 63) | (min[j + 4] >> 4) << 6);
        out[j + 8] = uint8_t((scale[j + 4] & 15) | (min[j + 4] & 15) << 4);
    }
}

const int kScales[8] = {1, 63, 17, 32, 45, 2, 60, 33};
const int kMins[8] = {0, 5, 63, 48, 31, 16, 7, 62};

// Elements of Q4_K / Q5_K chunk c (64 values): bytes 32c..32c+31 hold element 64c+l in the
// low nibble and element 64c+32+l in the high nibble.
void pack_k_nibbles(const int* q, uint8_t* qs) {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l)
            qs[32 * c + l] = uint8_t((q[64 * c + l] & 15) | (q[64 * c + 32 + l] & 15) << 4);
}

TEST(Dequantize, Q4_K) {
    BlockQ4_K b{};
    b.d = kHalf;
    b.dmin = kQuarter;
    pack_k_scales(kScales, kMins, b.scales);
    int q[256];
    for (int i = 0; i < 256; ++i) q[i] = (i * 7 + i / 16) % 16;
    pack_k_nibbles(q, b.qs);
    const auto out = dequantize_one(DType::Q4_K, b, 256);
    for (int i = 0; i < 256; ++i) {
        const int s = i / 32;
        EXPECT_EQ(out[i], 0.5f * float(kScales[s]) * float(q[i]) - 0.25f * float(kMins[s])) << i;
    }
}

TEST(Dequantize, Q5_K) {
    BlockQ5_K b{};
    b.d = kHalf;
    b.dmin = kQuarter;
    pack_k_scales(kScales, kMins, b.scales);
    int q[256];
    for (int i = 0; i < 256; ++i) q[i] = (i * 11 + i / 32) % 32;
    pack_k_nibbles(q, b.qs);
    // Fifth bit of element 64c+l is bit 2c of qh[l]; of element 64c+32+l, bit 2c+1.
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l)
            b.qh[l] |=
                uint8_t((q[64 * c + l] >> 4) << (2 * c) | (q[64 * c + 32 + l] >> 4) << (2 * c + 1));
    const auto out = dequantize_one(DType::Q5_K, b, 256);
    for (int i = 0; i < 256; ++i) {
        const int s = i / 32;
        EXPECT_EQ(out[i], 0.5f * float(kScales[s]) * float(q[i]) - 0.25f * float(kMins[s])) << i;
    }
}

TEST(Dequantize, Q6_K) {
    BlockQ6_K b{};
    b.d = kQuarter;
    const int scales[16] = {1, -1, 127, -128, 5, 9, -20, 33, 64, -64, 2, 3, 4, 100, -7, 11};
    for (int s = 0; s < 16; ++s) b.scales[s] = int8_t(scales[s]);
    int q[256];  // 0..63, stored offset by 32
    for (int i = 0; i < 256; ++i) q[i] = (i * 37 + 3) % 64;
    // Half h, position l < 32: elements l, l+32, l+64, l+96 of the half; low nibbles of
    // l and l+32 in ql[l] / ql[l+32], those of l+64 and l+96 in their high nibbles.
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            const int* e = q + 128 * h + l;
            b.ql[64 * h + l] = uint8_t((e[0] & 15) | (e[64] & 15) << 4);
            b.ql[64 * h + l + 32] = uint8_t((e[32] & 15) | (e[96] & 15) << 4);
            b.qh[32 * h + l] =
                uint8_t(e[0] >> 4 | (e[32] >> 4) << 2 | (e[64] >> 4) << 4 | (e[96] >> 4) << 6);
        }
    const auto out = dequantize_one(DType::Q6_K, b, 256);
    for (int i = 0; i < 256; ++i)
        EXPECT_EQ(out[i], 0.25f * float(scales[i / 16]) * float(q[i] - 32)) << i;
}

TEST(Dequantize, HalfFormats) {
    const uint16_t f16[4] = {0x3C00, 0xC000, 0x3555, 0x0001};  // 1, -2, ~0.333, smallest subnormal
    float out[4];
    dequantize_row(DType::F16, f16, out, 4);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], -2.0f);
    EXPECT_NEAR(out[2], 1.0f / 3.0f, 1e-4);
    EXPECT_EQ(out[3], std::ldexp(1.0f, -24));
    const uint16_t bf16[2] = {0x3F80, 0xC040};  // 1, -3
    dequantize_row(DType::BF16, bf16, out, 2);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], -3.0f);
}

TEST(Fp16, EveryFiniteHalfRoundTrips) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7C00) == 0x7C00) continue;  // inf / NaN
        ASSERT_EQ(fp32_to_fp16(fp16_to_fp32(uint16_t(h))), h) << std::hex << h;
    }
}

TEST(Fp16, RoundsToNearestEven) {
    EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie, down to even
    EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, up to even
    EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);                          // overflows to inf
}

TEST(Dequantize, SupportsListedTypes) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                    DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
        EXPECT_TRUE(supports(t)) << dtype_name(t);
    EXPECT_FALSE(supports(DType::Q2_K));
    EXPECT_FALSE(supports(DType::I32));
}

}  // namespace
}  // namespace ms::kernels
