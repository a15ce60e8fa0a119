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
    static_assert(kTokens <= 4, "per-token floats travel in one SSE register");
    const Act* row[kTokens];
    TokenGroup(const std::byte* first, int64_t stride) {
        for (int t = 0; t < kTokens; ++t) row[t] = reinterpret_cast<const Act*>(first + t * stride);
    }
    // A half-precision field of block b of every token, as floats in the low lanes. Packed in
    // a general register: a round trip through memory would stall on store forwarding.
    template <typename Field>
    __m128 halves(int64_t b, Field field) const {
        uint64_t packed = 0;
        for (int t = 0; t < kTokens; ++t) packed |= uint64_t(row[t][b].*field) << (16 * t);
        return _mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(packed)));
    }
};

// Symmetric formats: sum of d_w * d_x * dot(q_w, q_x). Formats with a minimum add m_w * s_x.
// kRows weight rows against kTokens activation rows: each weight block is unpacked once for
// all tokens, and the minimum terms of all tokens take one SSE lane each. Every (row, token)
// pair goes through the same operations in the same order whatever kRows and kTokens are (the
// minimum term is an explicit fused multiply-add), so results do not depend on the grouping.
template <typename S, typename Block, int kRows, int kTokens>
void dot_legacy(const std::byte* w_rows, int64_t stride, const std::byte* act, int64_t act_stride,
                int64_t cols, float* y, int64_t y_stride) {
    constexpr bool kHasMin = !Legacy<Block>::kSigned;
    using Act = std::conditional_t<kHasMin, BlockQ8_1, BlockQ8_0>;
    const RowGroup<Block, kRows> w(w_rows, stride);
    const TokenGroup<Act, kTokens> x(act, act_stride);
    const int64_t n_blocks = cols / kQK;

    typename S::F acc[kRows][kTokens];
    __m128 min_sum[kRows];  // lane t: token t
    for (int r = 0; r < kRows; ++r) {
        min_sum[r] = _mm_setzero_ps();
        for (int t = 0; t < kTokens; ++t) acc[r][t] = S::fzero();
    }
    int64_t b = 0;
    for (; b + S::kParts <= n_blocks; b += S::kParts) {
        typename S::I xq[kTokens];
        for (int t = 0; t < kTokens; ++t)
            xq[t] = S::combine([&](int i) { return load256(x.row[t][b + i].qs); });
        // Scales broadcast once per token and once per row, multiplied per (row, token).
        typename S::F x_scale[kTokens];
        for (int t = 0; t < kTokens; ++t) {
            float per_part[S::kParts];
            for (int i = 0; i < S::kParts; ++i) per_part[i] = half_to_float(x.row[t][b + i].d);
            x_scale[t] = S::broadcast_parts(per_part);
        }
        [[maybe_unused]] __m128 x_sum[S::kParts];
        if constexpr (kHasMin)
            for (int i = 0; i < S::kParts; ++i) x_sum[i] = x.halves(b + i, &Act::s);
        for (int r = 0; r < kRows; ++r) {
            const Block* wb = w.row[r] + b;
            const auto wq = S::combine([&](int i) { return Legacy<Block>::quants(wb[i]); });
            float w_per_part[S::kParts];
            for (int i = 0; i < S::kParts; ++i) {
                w_per_part[i] = half_to_float(wb[i].d);
                if constexpr (kHasMin)
                    min_sum[r] =
                        _mm_fmadd_ps(_mm_set1_ps(half_to_float(wb[i].m)), x_sum[i], min_sum[r]);
            }
            const auto w_scale = S::broadcast_parts(w_per_part);
            for (int t = 0; t < kTokens; ++t) {
                const auto sums = Legacy<Block>::kSigned ? S::dot_s8s8(S::zero(), wq, xq[t])
                                                         : S::dot_u8s8(S::zero(), wq, xq[t]);
                acc[r][t] = S::fmadd(S::to_float(sums), S::fmul(w_scale, x_scale[t]), acc[r][t]);
            }
        }
    }
    for (int r = 0; r < kRows; ++r) {
        alignas(16) float mins[4];
        _mm_store_ps(mins, min_sum[r]);
        for (int t = 0; t < kTokens; ++t) y[t * y_stride + r] = S::hsum(acc[r][t]) + mins[t];
    }
    if constexpr (S::kParts > 1) {
        if (b == n_blocks) return;
        float tail[kTokens][kRows];
        dot_legacy<typename S::Half, Block, kRows, kTokens>(
            w_rows + b * int64_t(sizeof(Block)), stride, act + b * int64_t(sizeof(Act)), act_stride,
            (n_blocks - b) * kQK, &tail[0][0], kRows);
        for (int r = 0; r < kRows; ++r)
            for (int t = 0; t < kTokens; ++t) y[t * y_stride + r] += tail[t][r];
    }
}

// ---- K formats against Q8_K ----------------------------------------------------------------

template <typename S>
typename S::F broadcast(float v) {
    float per_part[S::kParts];
    for (auto& p : per_part) p = v;
    return S::broadcast_parts(per_part);
}

// Q4_K and Q5_K: per 64-element chunk c, the low nibbles are sub-block 2c and the high
// nibbles sub-block 2c+1; Q5_K adds the fifth bits from qh (bits 2c and 2c+1 of each byte).
template <typename S, typename Block>
float dot_q4_q5_k(const void* w_row, const void* act_row, int64_t cols) {
    constexpr bool kFiveBits = std::is_same_v<Block, BlockQ5_K>;
    const auto* w = static_cast<const Block*>(w_row);
    const auto* x = static_cast<const BlockQ8_K*>(act_row);
    const auto low4 = S::bytes(0x0F);

    typename S::F acc = S::fzero();
    float min_sum = 0.0f;
    for (int64_t b = 0; b < cols / kQKK; ++b) {
        const Block& wb = w[b];
        const BlockQ8_K& xb = x[b];
        int16_t scale[8];
        int mins = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, mn;
            unpack_k_scale_min(wb.scales, j, sc, mn);
            scale[j] = sc;
            mins += mn * (xb.bsums[2 * j] + xb.bsums[2 * j + 1]);
        }
        [[maybe_unused]] typename S::I high_bits;
        if constexpr (kFiveBits)
            high_bits = S::combine([&](int i) { return S::Half::srli16(load256(wb.qh), 2 * i); });

        auto sums = S::zero();
        for (int c = 0; c < 4; c += S::kParts) {
            const auto q = S::load_contiguous(wb.qs + 32 * c);
            auto low = S::and_(q, low4);
            auto high = S::and_(S::srli16(q, 4), low4);
            if constexpr (kFiveBits) {
                low = S::or_(low, S::slli16(S::and_(high_bits, S::bytes(1)), 4));
                high = S::or_(high, S::slli16(S::and_(high_bits, S::bytes(2)), 3));
                high_bits = S::srli16(high_bits, 2 * S::kParts);
            }
            const int8_t* y = xb.qs + 64 * c;
            const auto y_low = S::combine([&](int i) { return load256(y + 64 * i); });
            const auto y_high = S::combine([&](int i) { return load256(y + 64 * i + 32); });
            const auto s_low =
                S::combine([&](int i) { return _mm256_set1_epi16(scale[2 * (c + i)]); });
            const auto s_high =
                S::combine([&](int i) { return _mm256_set1_epi16(scale[2 * (c + i) + 1]); });
            sums = S::dot_u8s8_scaled(sums, low, y_low, s_low);
            sums = S::dot_u8s8_scaled(sums, high, y_high, s_high);
        }
        acc = S::fmadd(S::to_float(sums), broadcast<S>(half_to_float(wb.d) * xb.d), acc);
        min_sum += half_to_float(wb.dmin) * xb.d * float(mins);
    }
    return S::hsum(acc) - min_sum;
}

// Q6_K: values 0..63 (offset 32, removed through the activation sums). In each 128-element
// half, group g (32 elements) takes the low (g < 2) or high nibbles of ql[32 * (g % 2) ..]
// and bits 2g, 2g+1 of qh; its two 16-element sub-blocks have their own scales.
template <typename S>
float dot_q6_k(const void* w_row, const void* act_row, int64_t cols) {
    const auto* w = static_cast<const BlockQ6_K*>(w_row);
    const auto* x = static_cast<const BlockQ8_K*>(act_row);
    const auto low4 = S::bytes(0x0F);

    typename S::F acc = S::fzero();
    float offset_sum = 0.0f;
    for (int64_t b = 0; b < cols / kQKK; ++b) {
        const BlockQ6_K& wb = w[b];
        const BlockQ8_K& xb = x[b];
        int offset = 0;
        for (int j = 0; j < 16; ++j) offset += wb.scales[j] * xb.bsums[j];

        auto sums = S::zero();
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = wb.ql + 64 * h;
            const __m256i qh = load256(wb.qh + 32 * h);
            const int8_t* scale = wb.scales + 8 * h;
            for (int g = 0; g < 4; g += S::kParts) {
                const auto l = S::combine([&](int i) { return load256(ql + 32 * ((g + i) % 2)); });
                const auto nibbles = g < 2 ? S::and_(l, low4) : S::and_(S::srli16(l, 4), low4);
                const auto top =
                    S::combine([&](int i) { return S::Half::srli16(qh, 2 * (g + i)); });
                const auto q = S::or_(nibbles, S::slli16(S::and_(top, S::bytes(3)), 4));
                const auto y =
                    S::combine([&](int i) { return load256(xb.qs + 128 * h + 32 * (g + i)); });
                const auto s = S::combine([&](int i) {
                    return _mm256_set_m128i(_mm_set1_epi16(scale[2 * (g + i) + 1]),
                                            _mm_set1_epi16(scale[2 * (g + i)]));
                });
                sums = S::dot_u8s8_scaled(sums, q, y, s);
            }
        }
        const float d = half_to_float(wb.d) * xb.d;
        acc = S::fmadd(S::to_float(sums), broadcast<S>(d), acc);
        offset_sum += d * float(32 * offset);
    }
    return S::hsum(acc) - offset_sum;
}

// ---- Tables --------------------------------------------------------------------------------

// Legacy rows go four at a time (sharing activation loads), then one at a time; tokens go
// four at a time (sharing weight unpacking), then two, then one.
constexpr int kRowGroup = 4;
constexpr int kTokenGroup = 4;

// Streaming a matrix larger than the caches (the output head) runs at about half the memory
// bandwidth on the hardware prefetcher alone; asking for the next row group ahead doubles it.
inline void prefetch(const std::byte* begin, const std::byte* end) {
    for (const std::byte* p = begin; p < end; p += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

// Every row against kTokens activation rows.
template <typename S, typename Block, int kTokens>
void legacy_row_groups(const std::byte* rows, int64_t stride, int64_t n_rows, const std::byte* act,
                       int64_t act_stride, int64_t cols, float* y, int64_t y_stride) {
    const std::byte* rows_end = rows + n_rows * stride;
    int64_t r = 0;
    for (; r + kRowGroup <= n_rows; r += kRowGroup) {
        const std::byte* next_group = rows + (r + kRowGroup) * stride;
        prefetch(next_group, std::min(rows_end, next_group + kRowGroup * stride));
        dot_legacy<S, Block, kRowGroup, kTokens>(rows + r * stride, stride, act, act_stride, cols,
                                                 y + r, y_stride);
    }
    for (; r < n_rows; ++r)
        dot_legacy<S, Block, 1, kTokens>(rows + r * stride, stride, act, act_stride, cols, y + r,
                                         y_stride);
}

template <typename S, typename Block>
void legacy_rows(const void* w, int64_t stride, int64_t n_rows, const void* act_row, int64_t cols,
                 float* y) {
    legacy_row_groups<S, Block, 1>(static_cast<const std::byte*>(w), stride, n_rows,
                                   static_cast<const std::byte*>(act_row), 0, cols, y, 0);
}

template <typename S, typename Block>
void legacy_tokens(const void* w, int64_t stride, int64_t n_rows, const void* act,
                   int64_t act_stride, int64_t n_tokens, int64_t cols, float* y, int64_t y_stride) {
    const auto* rows = static_cast<const std::byte*>(w);
    const auto* acts = static_cast<const std::byte*>(act);
    auto run = [&](auto tokens, int64_t t) {
        legacy_row_groups<S, Block, decltype(tokens)::value>(rows, stride, n_rows,
                                                             acts + t * act_stride, act_stride,
                                                             cols, y + t * y_stride, y_stride);
    };
    int64_t t = 0;
    for (; t + kTokenGroup <= n_tokens; t += kTokenGroup)
        run(std::integral_constant<int, kTokenGroup>{}, t);
    for (; t + 2 <= n_tokens; t += 2) run(std::integral_constant<int, 2>{}, t);
    for (; t < n_tokens; ++t) run(std::integral_constant<int, 1>{}, t);
}

template <float (*Dot)(const void*, const void*, int64_t)>
void each_row(const void* w, int64_t stride, int64_t n_rows, const void* act_row, int64_t cols,
              float* y) {
    const auto* rows = static_cast<const std::byte*>(w);
    for (int64_t r = 0; r < n_rows; ++r) y[r] = Dot(rows + r * stride, act_row, cols);
}

// The two table shapes, so that one switch maps each legacy type to its kernel.
struct LegacyRowsOf {
    template <typename S, typename Block>
    static constexpr DotRows of = legacy_rows<S, Block>;
};
struct LegacyTokensOf {
    template <typename S, typename Block>
    static constexpr DotTokens of = legacy_tokens<S, Block>;
};

// Kernels built on u8 x s8 dot products, the ones VNNI speeds up.
template <typename S, typename Shape>
auto x86_legacy_kernel(DType type) -> decltype(Shape::template of<S, BlockQ4_0>) {
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
        default:
            return nullptr;
    }
}

template <typename S>
DotRows x86_legacy_dot_rows(DType type) {
    return x86_legacy_kernel<S, LegacyRowsOf>(type);
}

// Only the legacy formats have multi-token kernels.
template <typename S>
DotTokens x86_dot_tokens(DType type) {
    return x86_legacy_kernel<S, LegacyTokensOf>(type);
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
        case DType::Q4_K:
            return each_row<dot_q4_q5_k<S, BlockQ4_K>>;
        case DType::Q5_K:
            return each_row<dot_q4_q5_k<S, BlockQ5_K>>;
        case DType::Q6_K:
            return each_row<dot_q6_k<S>>;
        default:
            return x86_legacy_dot_rows<S>(type);
    }
}

}  // namespace
}  // namespace ms::kernels
