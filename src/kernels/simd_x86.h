// Thin vector traits over AVX2 (256-bit) and AVX-512 (512-bit), so that each dot kernel in
// dot_x86_impl.h is written once. A vector is made of kParts 256-bit "parts"; the kernels
// build per-part operands (one 32-element block, one 32-element group) and combine them.
//
// Everything here has internal linkage: this header is compiled once per instruction set,
// and a shared out-of-line copy built for AVX-512 must never be linked into the AVX2 path.
#pragma once
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm*_undefined_* helpers
// (GCC bug 105593); the warning is about the header, not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // clang has no such warning and would warn about the pragma
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

namespace ms::kernels {
namespace {

inline float hsum128(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}

inline __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

inline float half_to_float(uint16_t h) {
    return _cvtsh_ss(h);
}

// Shared 256-bit operations (AVX2 encodings, or EVEX when compiled for AVX-512).
struct Avx2Ops {
    using I = __m256i;
    using F = __m256;
    static constexpr int kParts = 1;
    static constexpr int kFloats = 8;

    template <typename PartFn>
    static I combine(PartFn part) {
        return part(0);
    }
    static F broadcast_parts(const float* per_part) { return _mm256_set1_ps(per_part[0]); }
    static I load_contiguous(const void* p) { return load256(p); }

    static I zero() { return _mm256_setzero_si256(); }
    // acc + sum over adjacent byte pairs of u * s, widened to 32 bits through scale16:
    // the i16 pair sums are multiplied by the i16 lanes of scale16 and added pairwise.
    static I dot_u8s8_scaled(I acc, I u, I s, I scale16) {
        return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale16));
    }

    static F to_float(I v) { return _mm256_cvtepi32_ps(v); }
    static F fzero() { return _mm256_setzero_ps(); }
    static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F fadd(F a, F b) { return _mm256_add_ps(a, b); }
    static F fmul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F load_floats(const float* p) { return _mm256_loadu_ps(p); }
    static F load_halves(const uint16_t* p) { return _mm256_cvtph_ps(load128(p)); }
    static F load_bf16(const uint16_t* p) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
    }
    static float hsum(F v) {
        return hsum128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
    }
    // The sum of each part's lanes (one part).
    static void hsum_parts(F v, float* sums) { sums[0] = hsum(v); }
};

// u8 x s8 dot products accumulated into 32-bit lanes, with or without AVX-512 VNNI.
template <bool kVnni>
struct Avx2Dot : Avx2Ops {
    using Half = Avx2Dot;  // a single part already
    static I dot_u8s8(I acc, I u, I s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
        if constexpr (kVnni) return _mm256_dpbusd_epi32(acc, u, s);
#endif
        return dot_u8s8_scaled(acc, u, s, _mm256_set1_epi16(1));
    }
    // Signed weights: move the weight's sign onto the activation, take its magnitude.
    static I dot_s8s8(I acc, I w, I s) {
        return dot_u8s8(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w));
    }
};

using Avx2 = Avx2Dot<false>;

#if defined(__AVX512F__) && defined(__AVX512BW__)
// Two 256-bit parts per register.
template <bool kVnni>
struct Avx512Dot {
    using I = __m512i;
    using F = __m512;
    using Half = Avx2Dot<kVnni>;  // for a last odd part
    static constexpr int kParts = 2;
    static constexpr int kFloats = 16;

    template <typename PartFn>
    static I combine(PartFn part) {
        return _mm512_inserti64x4(_mm512_castsi256_si512(part(0)), part(1), 1);
    }
    static F broadcast_parts(const float* per_part) {
        const __m512d low = _mm512_castps_pd(_mm512_set1_ps(per_part[0]));
        return _mm512_castpd_ps(
            _mm512_insertf64x4(low, _mm256_castps_pd(_mm256_set1_ps(per_part[1])), 1));
    }
    static I load_contiguous(const void* p) { return _mm512_loadu_si512(p); }

    static I zero() { return _mm512_setzero_si512(); }
    // VNNI fuses the widening multiply by scale16 with the accumulation (same exact sums).
    static I dot_u8s8_scaled(I acc, I u, I s, I scale16) {
        const I pair_sums = _mm512_maddubs_epi16(u, s);
#if defined(__AVX512VNNI__)
        if constexpr (kVnni) return _mm512_dpwssd_epi32(acc, pair_sums, scale16);
#endif
        return _mm512_add_epi32(acc, _mm512_madd_epi16(pair_sums, scale16));
    }
    static I dot_u8s8(I acc, I u, I s) {
#if defined(__AVX512VNNI__)
        if constexpr (kVnni) return _mm512_dpbusd_epi32(acc, u, s);
#endif
        return dot_u8s8_scaled(acc, u, s, _mm512_set1_epi16(1));
    }
    static I dot_s8s8(I acc, I w, I s) {
        const __mmask64 negative = _mm512_movepi8_mask(w);
        return dot_u8s8(acc, _mm512_abs_epi8(w), _mm512_mask_sub_epi8(s, negative, zero(), s));
    }

    static F to_float(I v) {
        return _mm512_cvtepi32_ps(v);
    }
    static F fzero() {
        return _mm512_setzero_ps();
    }
    static F fmadd(F a, F b, F c) {
        return _mm512_fmadd_ps(a, b, c);
    }
    static F fadd(F a, F b) {
        return _mm512_add_ps(a, b);
    }
    static F fmul(F a, F b) {
        return _mm512_mul_ps(a, b);
    }
    static F load_floats(const float* p) {
        return _mm512_loadu_ps(p);
    }
    static F load_halves(const uint16_t* p) {
        return _mm512_cvtph_ps(load256(p));
    }
    static F load_bf16(const uint16_t* p) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
    }
    static float hsum(F v) {
        return _mm512_reduce_add_ps(v);
    }
    // The sum of each 256-bit part's lanes, each summed as Avx2Ops::hsum does.
    static void hsum_parts(F v, float* sums) {
        sums[0] = Avx2Ops::hsum(_mm512_castps512_ps256(v));
        sums[1] = Avx2Ops::hsum(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    }
};
#endif

}  // namespace
}  // namespace ms::kernels
