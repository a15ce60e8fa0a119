// Scalar unpacking of weight blocks into plain integers plus scales, shared by the reference
// dequantization and the reference dot products (so both read the bit layouts one way).
#pragma once
#include <cstdint>

#include "kernels/quant_blocks.h"
#include "tensor/dtype.h"

namespace ms::kernels {

// A legacy 32-element block: value[i] = d * q[i] + m.
struct UnpackedBlock {
    int8_t q[kQK];
    float d;
    float m;  // 0 for the symmetric formats
};

inline void unpack_nibbles(const uint8_t* qs, int8_t* q) {
    for (int j = 0; j < kQK / 2; ++j) {
        q[j] = int8_t(qs[j] & 0xF);
        q[j + kQK / 2] = int8_t(qs[j] >> 4);
    }
}

inline void add_fifth_bits(const uint8_t qh_bytes[4], int8_t* q) {
    const uint32_t qh = load_qh(qh_bytes);
    for (int j = 0; j < kQK; ++j) q[j] = int8_t(q[j] | ((qh >> j) & 1) << 4);
}

inline UnpackedBlock unpack(const BlockQ4_0& b) {
    UnpackedBlock u{{}, fp16_to_fp32(b.d), 0.0f};
    unpack_nibbles(b.qs, u.q);
    for (auto& v : u.q) v = int8_t(v - 8);
    return u;
}
inline UnpackedBlock unpack(const BlockQ4_1& b) {
    UnpackedBlock u{{}, fp16_to_fp32(b.d), fp16_to_fp32(b.m)};
    unpack_nibbles(b.qs, u.q);
    return u;
}
inline UnpackedBlock unpack(const BlockQ5_0& b) {
    UnpackedBlock u{{}, fp16_to_fp32(b.d), 0.0f};
    unpack_nibbles(b.qs, u.q);
    add_fifth_bits(b.qh, u.q);
    for (auto& v : u.q) v = int8_t(v - 16);
    return u;
}
inline UnpackedBlock unpack(const BlockQ5_1& b) {
    UnpackedBlock u{{}, fp16_to_fp32(b.d), fp16_to_fp32(b.m)};
    unpack_nibbles(b.qs, u.q);
    add_fifth_bits(b.qh, u.q);
    return u;
}
inline UnpackedBlock unpack(const BlockQ8_0& b) {
    UnpackedBlock u{{}, fp16_to_fp32(b.d), 0.0f};
    for (int j = 0; j < kQK; ++j) u.q[j] = b.qs[j];
    return u;
}

// A 256-element K super-block split in n_sub sub-blocks of sub_len elements:
// value[i] = d * scale[s] * q[i] - dmin * min[s], s = i / sub_len.
struct UnpackedSuperBlock {
    int8_t q[kQKK];
    int n_sub;
    int sub_len;
    int scale[16];
    int min[16];  // all 0 for Q6_K
    float d;
    float dmin;
};

inline void unpack_k_scales(const uint8_t* scales, UnpackedSuperBlock& u) {
    u.n_sub = 8;
    u.sub_len = 32;
    for (int j = 0; j < 8; ++j) {
        uint8_t scale, min;
        unpack_k_scale_min(scales, j, scale, min);
        u.scale[j] = scale;
        u.min[j] = min;
    }
}

// Q4_K / Q5_K low nibbles: each 64-element chunk c takes 32 bytes, low nibbles first.
inline void unpack_k_nibbles(const uint8_t* qs, int8_t* q) {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            q[64 * c + l] = int8_t(qs[32 * c + l] & 0xF);
            q[64 * c + 32 + l] = int8_t(qs[32 * c + l] >> 4);
        }
}

inline UnpackedSuperBlock unpack(const BlockQ4_K& b) {
    UnpackedSuperBlock u{};
    u.d = fp16_to_fp32(b.d);
    u.dmin = fp16_to_fp32(b.dmin);
    unpack_k_scales(b.scales, u);
    unpack_k_nibbles(b.qs, u.q);
    return u;
}

inline UnpackedSuperBlock unpack(const BlockQ5_K& b) {
    UnpackedSuperBlock u{};
    u.d = fp16_to_fp32(b.d);
    u.dmin = fp16_to_fp32(b.dmin);
    unpack_k_scales(b.scales, u);
    unpack_k_nibbles(b.qs, u.q);
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            u.q[64 * c + l] = int8_t(u.q[64 * c + l] | ((b.qh[l] >> (2 * c)) & 1) << 4);
            u.q[64 * c + 32 + l] =
                int8_t(u.q[64 * c + 32 + l] | ((b.qh[l] >> (2 * c + 1)) & 1) << 4);
        }
    return u;
}

// Q6_K: each 128-element half h takes 64 bytes of ql and 32 of qh; byte l of qh holds the
// high bits of elements l, l+32, l+64, l+96 of the half.
inline UnpackedSuperBlock unpack(const BlockQ6_K& b) {
    UnpackedSuperBlock u{};
    u.d = fp16_to_fp32(b.d);
    u.n_sub = 16;
    u.sub_len = 16;
    for (int s = 0; s < 16; ++s) u.scale[s] = b.scales[s];
    for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = b.ql + 64 * h;
        const uint8_t* qh = b.qh + 32 * h;
        int8_t* q = u.q + 128 * h;
        for (int l = 0; l < 32; ++l) {
            q[l] = int8_t(((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32);
            q[l + 32] = int8_t(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
            q[l + 64] = int8_t(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
            q[l + 96] = int8_t(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
        }
    }
    return u;
}

}  // namespace ms::kernels
