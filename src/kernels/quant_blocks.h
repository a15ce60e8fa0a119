// Quantized block layouts, byte for byte as ggml stores them in GGUF files, plus the 8-bit
// activation blocks the quantized matmuls multiply against. Internal to the kernels.
#pragma once
#include <cstdint>

namespace ms::kernels {

constexpr int kQK = 32;    // elements per block of the legacy formats
constexpr int kQKK = 256;  // elements per super-block of the K formats

struct BlockQ4_0 {
    uint16_t d;           // fp16 scale
    uint8_t qs[kQK / 2];  // element j in the low nibble of byte j, element j+16 in the high
};
struct BlockQ4_1 {
    uint16_t d;  // fp16 scale
    uint16_t m;  // fp16 minimum
    uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];  // fifth bits, bit j for element j (little endian)
    uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK];
};
// Q8_0 plus s = d * sum(qs), which folds the weights' minimum into one multiply.
struct BlockQ8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[kQK];
};

// Q4_K: 8 sub-blocks of 32, each with a 6-bit scale and 6-bit minimum packed into 12 bytes.
struct BlockQ4_K {
    uint16_t d;     // fp16 scale of the sub-block scales
    uint16_t dmin;  // fp16 scale of the sub-block minimums
    uint8_t scales[12];
    uint8_t qs[kQKK / 2];  // per 64 elements: 32 bytes, low nibbles first, then high nibbles
};
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kQKK / 8];  // fifth bits: bit 2i / 2i+1 of byte l for the i-th 64-element chunk
    uint8_t qs[kQKK / 2];
};
// Q6_K: 16 sub-blocks of 16 with signed 8-bit scales; values are 6-bit, offset by 32.
struct BlockQ6_K {
    uint8_t ql[kQKK / 2];  // low 4 bits
    uint8_t qh[kQKK / 4];  // high 2 bits
    int8_t scales[kQKK / 16];
    uint16_t d;
};
// Activation super-block for the K formats: float scale and sums of each 16 values.
struct BlockQ8_K {
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// The helpers below have internal linkage (static): this header is included by files compiled
// for different instruction sets, and a shared out-of-line copy could carry the wrong one.

// Unpacks the 6-bit scale and minimum of sub-block j (0..7) of a Q4_K / Q5_K super-block.
static inline void unpack_k_scale_min(const uint8_t* scales, int j, uint8_t& scale, uint8_t& min) {
    if (j < 4) {
        scale = scales[j] & 63;
        min = scales[j + 4] & 63;
    } else {
        scale = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
        min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
    }
}

// The fifth bits of a Q5_0 / Q5_1 block as one word.
static inline uint32_t load_qh(const uint8_t qh[4]) {
    return uint32_t(qh[0]) | uint32_t(qh[1]) << 8 | uint32_t(qh[2]) << 16 | uint32_t(qh[3]) << 24;
}

}  // namespace ms::kernels
