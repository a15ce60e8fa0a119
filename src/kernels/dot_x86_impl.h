// The x86 dot kernels, written once over the vector traits of simd_x86.h and instantiated by
// dot_avx2.cpp, dot_avx512.cpp and dot_avx512_vnni.cpp. Integer sums are exact, so results
// differ from the scalar reference only in the order of the float additions.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/quant_blocks.h"
#include "kernels/row_dot.h"
#include "kernels/simd_x86.h"

namespace ms::kernels {
namespace {

// ---- F32 / F16 / BF16 weights against float activations ----------------------------------

inline float bf16_bits_to_float(uint16_t h) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
}

// Four independent accumulators hide the fused multiply-add latency.
template <typename S, typename Weight, typename LoadWeights, typename ToFloat>
float dot_floats(const Weight* w, const float* x, int64_t cols, LoadWeights load, ToFloat scalar) {
    constexpr int64_t kWidth = S::kFloats;
    typename S::F acc[4] = {S::fzero(), S::fzero(), S::fzero(), S::fzero()};
    int64_t k = 0;
    for (; k + 4 * kWidth <= cols; k += 4 * kWidth)
        for (int u = 0; u < 4; ++u)
            acc[u] = S::fmadd(load(w + k + u * kWidth), S::load_floats(x + k + u * kWidth), acc[u]);
    for (; k + kWidth <= cols; k += kWidth)
        acc[0] = S::fmadd(load(w + k), S::load_floats(x + k), acc[0]);
    float sum = S::hsum(S::fadd(S::fadd(acc[0], acc[1]), S::fadd(acc[2], acc[3])));
    for (; k < cols; ++k) sum += scalar(w[k]) * x[k];
    return sum;
}

template <typename S>
float dot_f32(const void* w, const void* x, int64_t cols) {
    return dot_floats<S>(
        static_cast<const float*>(w), static_cast<const float*>(x), cols,
        [](const float* p) { return S::load_floats(p); }, [](float v) { return v; });
}

template <typename S>
float dot_f16(const void* w, const void* x, int64_t cols) {
    return dot_floats<S>(
        static_cast<const uint16_t*>(w), static_cast<const float*>(x), cols,
        [](const uint16_t* p) { return S::load_halves(p); }, half_to_float);
}

template <typename S>
float dot_bf16(const void* w, const void* x, int64_t cols) {
    return dot_floats<S>(
        static_cast<const uint16_t*>(w), static_cast<const float*>(x), cols,
        [](const uint16_t* p) { return S::load_bf16(p); }, bf16_bits_to_float);
}

// ---- Legacy 32-element formats -------------------------------------------------------------

// The 32 nibbles of a block as bytes: elements 0..15 from the low nibbles, 16..31 from the high.
inline __m256i unpack_nibbles256(const uint8_t* qs) {
    const __m128i packed = load128(qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 0x10 in byte j where bit j of the block's qh word is set.
inline __m256i fifth_bits256(const uint8_t* qh_bytes) {
    const __m256i word = _mm256_set1_epi32(int(load_qh(qh_bytes)));
    // Byte j takes byte j / 8 of the word, then tests bit j % 8 of it.
    const __m256i spread = _mm256_shuffle_epi8(
        word, _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Per format: its values as 32 bytes (signed when the format is symmetric), and whether it
// has a minimum (and so pairs with Q8_1 activations).
template <typename Block>
struct Legacy;

template <>
struct Legacy<BlockQ4_0> {
    static constexpr bool kSigned = true;
    static __m256i quants(const BlockQ4_0& b) {
        return _mm256_sub_epi8(unpack_nibbles256(b.qs), _mm256_set1_epi8(8));
    }
};
template <>
struct Legacy<BlockQ4_1> {
    static constexpr bool kSigned = false;
    static __m256i quants(const BlockQ4_1& b) { return unpack_nibbles256(b.qs); }
};
template <>
struct Legacy<BlockQ5_0> {
    static constexpr bool kSigned = true;
    static __m256i quants(const BlockQ5_0& b) {
        const __m256i q = _mm256_or_si256(unpack_nibbles256(b.qs), fifth_bits256(b.qh));
        return _mm256_sub_epi8(q, _mm256_set1_epi8(16));
    }
};
template <>
struct Legacy<BlockQ5_1> {
    static constexpr bool kSigned = false;
    static __m256i quants(const BlockQ5_1& b) {
        return _mm256_or_si256(unpack_nibbles256(b.qs), fifth_bits256(b.qh));
    }
};
template <>
struct Legacy<BlockQ8_0> {
    static constexpr bool kSigned = true;
    static __m256i quants(const BlockQ8_0& b) { return load256(b.qs); }
};

// Rows of a weight matrix, kRows at a time: each activation block is loaded and its scale
// converted once for all of them.
template <typename Block, int kRows>
struct RowGroup {
    const Block* row[kRows];
    RowGroup(const std::byte* first, int64_t stride) {
        for (int r = 0; r < kRows; ++r) row[r] = reinterpret_cast<const Block*>(first + r * stride);
    }
};

// kTokens activation rows, act_stride bytes apart, read block by block.
template <typename Act, int kTokens>
struct TokenGroup {
    const Act* row[kTokens];
    TokenGroup(const std::byte* first, int64_t stride) {
        for (int t = 0; t < kTokens; ++t) row[t] = reinterpret_cast<const Act*>(first + t * stride);
    }
    // A half-precision field of block b of every token, as floats in the low lanes. Packed in
    // a general register: a round trip through memory would stall on store forwarding.
    template <typename Field>
    __m128 halves(int64_t b, Field field) const {
        static_assert(kTokens <= 4, "per-token floats travel in one SSE register");
        uint64_t packed = 0;
        for (int t = 0; t < kTokens; ++t) packed |= uint64_t(row[t][b].*field) << (16 * t);
        return _mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(packed)));
    }
};

// Symmetric formats: sum of d_w * d_x * dot(q_w, q_x). Formats with a minimum add m_w * s_x.
// Per (row, token) the order is llama.cpp's on x86 without AMX (ggml's AVX2 dot products and
// llamafile's tinyBLAS, which keep it on AVX-512 CPUs too): eight float lanes, each the exact
// sum of four products of a block converted to float, fused-multiply-added by d_w * d_x into
// its lane block after block; the lanes summed at the end. A 512-bit register holds two rows
// (S::kParts), never two blocks of one row, so every level sums a row exactly like that and
// AVX-512 results equal AVX2's bit for bit (summing two blocks per register moved tiny Q8_0
// models' logits by up to 0.7 from llama.cpp's on AVX-512 CPUs: docs/engine.md, "Numerics").
// kRows weight rows against kTokens activation rows: each weight block is unpacked once for
// all tokens, and the minimum terms of all tokens take one SSE lane each. Every (row, token)
// pair goes through the same operations in the same order whatever kRows and kTokens are (the
// minimum term is an explicit fused multiply-add), so results do not depend on the grouping.
template <typename S, typename Block, int kRows, int kTokens>
void dot_legacy(const std::byte* w_rows, int64_t stride, const std::byte* act, int64_t act_stride,
                int64_t cols, float* y, int64_t y_stride) {
    constexpr int kParts = S::kParts;  // rows per register
    if constexpr (kRows % kParts != 0) {
        // A row left over: the 256-bit kernel, whose per-row operations are the same.
        return dot_legacy<typename S::Half, Block, kRows, kTokens>(w_rows, stride, act, act_stride,
                                                                   cols, y, y_stride);
    } else {
        constexpr bool kHasMin = !Legacy<Block>::kSigned;
        using Act = std::conditional_t<kHasMin, BlockQ8_1, BlockQ8_0>;
        constexpr int kVectors = kRows / kParts;
        const RowGroup<Block, kRows> w(w_rows, stride);
        const TokenGroup<Act, kTokens> x(act, act_stride);
        const int64_t n_blocks = cols / kQK;

        typename S::F acc[kVectors][kTokens];
        __m128 min_sum[kRows];  // lane t: token t
        for (int r = 0; r < kRows; ++r) min_sum[r] = _mm_setzero_ps();
        for (int v = 0; v < kVectors; ++v)
            for (int t = 0; t < kTokens; ++t) acc[v][t] = S::fzero();
        for (int64_t b = 0; b < n_blocks; ++b) {
            // The token's block in every part, its scale broadcast once per token.
            typename S::I xq[kTokens];
            typename S::F x_scale[kTokens];
            for (int t = 0; t < kTokens; ++t) {
                const __m256i q = load256(x.row[t][b].qs);
                xq[t] = S::combine([&](int) { return q; });
                float per_part[kParts];
                for (auto& d : per_part) d = half_to_float(x.row[t][b].d);
                x_scale[t] = S::broadcast_parts(per_part);
            }
            [[maybe_unused]] __m128 x_sum;
            if constexpr (kHasMin) x_sum = x.halves(b, &Act::s);
            for (int v = 0; v < kVectors; ++v) {
                const Block* wb[kParts];
                for (int i = 0; i < kParts; ++i) wb[i] = w.row[kParts * v + i] + b;
                const auto wq = S::combine([&](int i) { return Legacy<Block>::quants(*wb[i]); });
                float w_per_part[kParts];
                for (int i = 0; i < kParts; ++i) {
                    w_per_part[i] = half_to_float(wb[i]->d);
                    if constexpr (kHasMin)
                        min_sum[kParts * v + i] = _mm_fmadd_ps(_mm_set1_ps(half_to_float(wb[i]->m)),
                                                               x_sum, min_sum[kParts * v + i]);
                }
                const auto w_scale = S::broadcast_parts(w_per_part);
                for (int t = 0; t < kTokens; ++t) {
                    const auto sums = Legacy<Block>::kSigned ? S::dot_s8s8(S::zero(), wq, xq[t])
                                                             : S::dot_u8s8(S::zero(), wq, xq[t]);
                    acc[v][t] =
                        S::fmadd(S::to_float(sums), S::fmul(w_scale, x_scale[t]), acc[v][t]);
                }
            }
        }
        for (int v = 0; v < kVectors; ++v) {
            alignas(16) float mins[kParts][4];
            for (int i = 0; i < kParts; ++i) _mm_store_ps(mins[i], min_sum[kParts * v + i]);
            for (int t = 0; t < kTokens; ++t) {
                float sums[kParts];
                S::hsum_parts(acc[v][t], sums);
                for (int i = 0; i < kParts; ++i)
                    y[t * y_stride + kParts * v + i] = sums[i] + mins[i][t];
            }
        }
    }
}

// ---- K formats against Q8_K ----------------------------------------------------------------

template <typename S>
typename S::F broadcast(float v) {
    float per_part[S::kParts];
    for (auto& p : per_part) p = v;
    return S::broadcast_parts(per_part);
}

// A K super-block read as 8 groups of 32 elements in element order, so that group j lines up
// with activation bytes 32j..32j+31 and its two halves with activation sums 2j and 2j+1.
constexpr int kKGroups = kQKK / 32;

// Per 16 elements: the weights' scale, and the factor that activation's sum is taken out with
// (the Q4_K / Q5_K minimum, or Q6_K's offset of 32 times the scale). Both are i16.
struct KScales {
    __m256i scale16;
    __m256i min16;
};

// The low or high nibbles of 32 bytes, as bytes.
inline __m256i nibbles256(const uint8_t* bytes, bool high) {
    const __m256i v = load256(bytes);
    return _mm256_and_si256(high ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(0x0F));
}

// Bits shift..shift+width-1 of each byte, moved to bits 4.. (above a nibble).
inline __m256i bits_above_nibble(__m256i v, int shift, uint8_t width_mask) {
    const __m256i bits = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)),
                                          _mm256_set1_epi8(char(width_mask)));
    return _mm256_slli_epi16(bits, 4);
}

// Each byte of the 8-byte word twice, as 16 i16 lanes.
inline __m256i widen_doubled(uint64_t bytes8) {
    const __m128i v = _mm_cvtsi64_si128(int64_t(bytes8));
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(v, v));
}

// The 6-bit scales and minimums of a Q4_K / Q5_K super-block (unpack_k_scale_min for all eight
// at once): bytes 0..3 hold scales 0..3 and the top bits of scales 4..7, bytes 4..7 the same
// for the minimums, bytes 8..11 the low nibbles of scales (low) and minimums (high) 4..7.
inline KScales k_scales_mins(const uint8_t packed[12]) {
    uint32_t word[3];
    __builtin_memcpy(word, packed, sizeof(word));
    constexpr uint32_t kLow6 = 0x3F3F3F3F, kLow4 = 0x0F0F0F0F, kLow2 = 0x03030303;
    const uint32_t scale_low = word[0] & kLow6;
    const uint32_t min_low = word[1] & kLow6;
    const uint32_t scale_high = (word[2] & kLow4) | ((word[0] >> 6) & kLow2) << 4;
    const uint32_t min_high = ((word[2] >> 4) & kLow4) | ((word[1] >> 6) & kLow2) << 4;
    return {widen_doubled(scale_low | uint64_t(scale_high) << 32),
            widen_doubled(min_low | uint64_t(min_high) << 32)};
}

// Per format: group j's values as unsigned bytes, the scales, and the float factors.
template <typename Block>
struct KFormat;

// Q4_K: per 64-element chunk, the low nibbles of 32 bytes, then their high nibbles.
template <>
struct KFormat<BlockQ4_K> {
    static __m256i group(const BlockQ4_K& b, int j) {
        return nibbles256(b.qs + 32 * (j / 2), j % 2);
    }
    static KScales scales(const BlockQ4_K& b) { return k_scales_mins(b.scales); }
    static float d(const BlockQ4_K& b) { return half_to_float(b.d); }
    static float dmin(const BlockQ4_K& b) { return half_to_float(b.dmin); }
};

// Q5_K: Q4_K plus a fifth bit, bit j of qh byte l for element l of group j.
template <>
struct KFormat<BlockQ5_K> {
    static __m256i group(const BlockQ5_K& b, int j) {
        return _mm256_or_si256(nibbles256(b.qs + 32 * (j / 2), j % 2),
                               bits_above_nibble(load256(b.qh), j, 1));
    }
    static KScales scales(const BlockQ5_K& b) { return k_scales_mins(b.scales); }
    static float d(const BlockQ5_K& b) { return half_to_float(b.d); }
    static float dmin(const BlockQ5_K& b) { return half_to_float(b.dmin); }
};

// Q6_K: values 0..63, offset 32. In each 128-element half, group g takes the low (g < 2) or
// high nibbles of ql[32 * (g % 2) ..] and bits 2g, 2g+1 of qh; 16-element signed scales.
template <>
struct KFormat<BlockQ6_K> {
    static __m256i group(const BlockQ6_K& b, int j) {
        const int half = j / 4, g = j % 4;
        return _mm256_or_si256(nibbles256(b.ql + 64 * half + 32 * (g % 2), g >= 2),
                               bits_above_nibble(load256(b.qh + 32 * half), 2 * g, 3));
    }
    static KScales scales(const BlockQ6_K& b) {
        const __m256i scale16 = _mm256_cvtepi8_epi16(load128(b.scales));
        return {scale16, _mm256_slli_epi16(scale16, 5)};
    }
    static float d(const BlockQ6_K& b) { return half_to_float(b.d); }
    static float dmin(const BlockQ6_K& b) { return half_to_float(b.d); }
};

// Group j's scales for a 32-byte u8 x s8 product: scale 2j in the low 128 bits, 2j+1 in the
// high (i16 pair j is 32-bit lane j of scale16).
inline __m256i group_scale(__m256i scale16, int j) {
    const __m256i pair = _mm256_permutevar8x32_epi32(scale16, _mm256_set1_epi32(j));
    return _mm256_shuffle_epi8(
        pair, _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2,
                               3, 2, 3, 2, 3, 2, 3, 2, 3));
}

// A K super-block unpacked once, then multiplied against any number of activation blocks:
// sum over elements of d * scale * q * x - dmin * sum over 16-element sums of min * bsum.
template <typename S, typename Block>
struct UnpackedK {
    static constexpr int kVectors = kKGroups / S::kParts;
    typename S::I q[kVectors];
    typename S::I scale[kVectors];
    __m256i min16;
    float d;
    float dmin;

    explicit UnpackedK(const Block& b) : d(KFormat<Block>::d(b)), dmin(KFormat<Block>::dmin(b)) {
        const KScales scales = KFormat<Block>::scales(b);
        for (int i = 0; i < kVectors; ++i) {
            q[i] = S::combine([&](int p) { return KFormat<Block>::group(b, S::kParts * i + p); });
            scale[i] =
                S::combine([&](int p) { return group_scale(scales.scale16, S::kParts * i + p); });
        }
        min16 = scales.min16;
    }

    // Lanes summing to the integer sum of scale * q * x over the block (exact).
    typename S::I scaled_sums(const BlockQ8_K& x) const {
        auto sums = S::zero();
        for (int i = 0; i < kVectors; ++i)
            sums = S::dot_u8s8_scaled(sums, q[i], S::load_contiguous(x.qs + 32 * S::kParts * i),
                                      scale[i]);
        return sums;
    }
    // Lanes summing to the integer sum of min * bsum over the block.
    __m256 min_sums(const BlockQ8_K& x) const {
        return _mm256_cvtepi32_ps(_mm256_madd_epi16(min16, load256(x.bsums)));
    }
};

// kRows K-format weight rows against kTokens Q8_K activation rows: each super-block is unpacked
// once for all tokens. Per (row, token) the operations and their order do not depend on kRows
// and kTokens, so results do not depend on the grouping.
template <typename S, typename Block, int kRows, int kTokens>
void dot_k(const std::byte* w_rows, int64_t stride, const std::byte* act, int64_t act_stride,
           int64_t cols, float* y, int64_t y_stride) {
    const RowGroup<Block, kRows> w(w_rows, stride);
    const TokenGroup<BlockQ8_K, kTokens> x(act, act_stride);
    typename S::F acc[kRows][kTokens];
    __m256 min_acc[kRows][kTokens];
    for (int r = 0; r < kRows; ++r)
        for (int t = 0; t < kTokens; ++t) {
            acc[r][t] = S::fzero();
            min_acc[r][t] = _mm256_setzero_ps();
        }
    for (int64_t b = 0; b < cols / kQKK; ++b)
        for (int r = 0; r < kRows; ++r) {
            const UnpackedK<S, Block> u(w.row[r][b]);
            for (int t = 0; t < kTokens; ++t) {
                const BlockQ8_K& xb = x.row[t][b];
                acc[r][t] =
                    S::fmadd(S::to_float(u.scaled_sums(xb)), broadcast<S>(u.d * xb.d), acc[r][t]);
                min_acc[r][t] =
                    _mm256_fmadd_ps(u.min_sums(xb), _mm256_set1_ps(u.dmin * xb.d), min_acc[r][t]);
            }
        }
    for (int r = 0; r < kRows; ++r)
        for (int t = 0; t < kTokens; ++t)
            y[t * y_stride + r] = S::hsum(acc[r][t]) - Avx2Ops::hsum(min_acc[r][t]);
}

// ---- Tables --------------------------------------------------------------------------------

template <typename Block>
constexpr bool kIsKFormat = std::is_same_v<Block, BlockQ4_K> || std::is_same_v<Block, BlockQ5_K> ||
                            std::is_same_v<Block, BlockQ6_K>;

// Legacy rows go four at a time (sharing activation loads); K rows one at a time (an unpacked
// super-block already fills the registers). Then single rows.
template <typename Block>
constexpr int kRowGroup = kIsKFormat<Block> ? 1 : 4;
// Tokens share each unpacked weight block in groups of four (legacy: their per-token floats
// travel in one SSE register) or eight (K: unpacking a super-block costs more; about 10-15%
// faster than four), then four, two, one.
template <typename Block>
constexpr int kTokenGroup = kIsKFormat<Block> ? 8 : 4;

// kRows weight rows of Block against kTokens activation rows.
template <typename S, typename Block, int kRows, int kTokens>
void dot_block_rows(const std::byte* w_rows, int64_t stride, const std::byte* act,
                    int64_t act_stride, int64_t cols, float* y, int64_t y_stride) {
    if constexpr (kIsKFormat<Block>)
        dot_k<S, Block, kRows, kTokens>(w_rows, stride, act, act_stride, cols, y, y_stride);
    else
        dot_legacy<S, Block, kRows, kTokens>(w_rows, stride, act, act_stride, cols, y, y_stride);
}

// Streaming a matrix larger than the caches (the output head) runs at about half the memory
// bandwidth on the hardware prefetcher alone; asking for the next row group ahead doubles it.
inline void prefetch(const std::byte* begin, const std::byte* end) {
    for (const std::byte* p = begin; p < end; p += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

// Every row against kTokens activation rows.
template <typename S, typename Block, int kTokens>
void row_groups(const std::byte* rows, int64_t stride, int64_t n_rows, const std::byte* act,
                int64_t act_stride, int64_t cols, float* y, int64_t y_stride) {
    constexpr int kGroup = kRowGroup<Block>;
    const std::byte* rows_end = rows + n_rows * stride;
    int64_t r = 0;
    for (; r + kGroup <= n_rows; r += kGroup) {
        const std::byte* next_group = rows + (r + kGroup) * stride;
        prefetch(next_group, std::min(rows_end, next_group + kGroup * stride));
        dot_block_rows<S, Block, kGroup, kTokens>(rows + r * stride, stride, act, act_stride, cols,
                                                  y + r, y_stride);
    }
    for (; r < n_rows; ++r)
        dot_block_rows<S, Block, 1, kTokens>(rows + r * stride, stride, act, act_stride, cols,
                                             y + r, y_stride);
}

template <typename S, typename Block>
void block_rows(const void* w, int64_t stride, int64_t n_rows, const void* act_row, int64_t cols,
                float* y) {
    row_groups<S, Block, 1>(static_cast<const std::byte*>(w), stride, n_rows,
                            static_cast<const std::byte*>(act_row), 0, cols, y, 0);
}

template <typename S, typename Block>
void block_tokens(const void* w, int64_t stride, int64_t n_rows, const void* act,
                  int64_t act_stride, int64_t n_tokens, int64_t cols, float* y, int64_t y_stride) {
    const auto* rows = static_cast<const std::byte*>(w);
    const auto* acts = static_cast<const std::byte*>(act);
    auto run = [&](auto tokens, int64_t t) {
        row_groups<S, Block, decltype(tokens)::value>(rows, stride, n_rows, acts + t * act_stride,
                                                      act_stride, cols, y + t * y_stride, y_stride);
    };
    int64_t t = 0;
    for (; t + kTokenGroup<Block> <= n_tokens; t += kTokenGroup<Block>)
        run(std::integral_constant<int, kTokenGroup<Block>>{}, t);
    if constexpr (kTokenGroup < Block >> 4)
        for (; t + 4 <= n_tokens; t += 4) run(std::integral_constant<int, 4>{}, t);
    for (; t + 2 <= n_tokens; t += 2) run(std::integral_constant<int, 2>{}, t);
    for (; t < n_tokens; ++t) run(std::integral_constant<int, 1>{}, t);
}

template <float (*Dot)(const void*, const void*, int64_t)>
void each_row(const void* w, int64_t stride, int64_t n_rows, const void* act_row, int64_t cols,
              float* y) {
    const auto* rows = static_cast<const std::byte*>(w);
    for (int64_t r = 0; r < n_rows; ++r) y[r] = Dot(rows + r * stride, act_row, cols);
}

// The two table shapes, so that one switch maps each quantized type to its kernel.
struct BlockRowsOf {
    template <typename S, typename Block>
    static constexpr DotRows of = block_rows<S, Block>;
};
struct BlockTokensOf {
    template <typename S, typename Block>
    static constexpr DotTokens of = block_tokens<S, Block>;
};

// Kernels built on u8 x s8 dot products, the ones VNNI speeds up.
template <typename S, typename Shape>
auto x86_quant_kernel(DType type) -> decltype(Shape::template of<S, BlockQ4_0>) {
    switch (type) {
        case DType::Q4_0:
            return Shape::template of<S, BlockQ4_0>;
        case DType::Q4_1:
            return Shape::template of<S, BlockQ4_1>;
        case DType::Q5_0:
            return Shape::template of<S, BlockQ5_0>;
        case DType::Q5_1:
            return Shape::template of<S, BlockQ5_1>;
        case DType::Q8_0:
            return Shape::template of<S, BlockQ8_0>;
        case DType::Q4_K:
            return Shape::template of<S, BlockQ4_K>;
        case DType::Q5_K:
            return Shape::template of<S, BlockQ5_K>;
        case DType::Q6_K:
            return Shape::template of<S, BlockQ6_K>;
        default:
            return nullptr;
    }
}

template <typename S>
DotRows x86_quant_dot_rows(DType type) {
    return x86_quant_kernel<S, BlockRowsOf>(type);
}

// Only the quantized formats have multi-token kernels.
template <typename S>
DotTokens x86_dot_tokens(DType type) {
    return x86_quant_kernel<S, BlockTokensOf>(type);
}

template <typename S>
DotRows x86_dot_rows(DType type) {
    switch (type) {
        case DType::F32:
            return each_row<dot_f32<S>>;
        case DType::F16:
            return each_row<dot_f16<S>>;
        case DType::BF16:
            return each_row<dot_bf16<S>>;
        default:
            return x86_quant_dot_rows<S>(type);
    }
}

}  // namespace
}  // namespace ms::kernels
