// The x86 activation kernels, written once over float vector traits and instantiated by
// activation_avx2.cpp and activation_avx512.cpp. Both use the same operations in the same
// order, so they give the same bits.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/simd_x86.h"

namespace ms::kernels {
namespace {

// The float operations exp needs beyond the dot kernels' traits.
struct Avx2Math : Avx2Ops {
    static F set1(float v) { return _mm256_set1_ps(v); }
    static F fsub(F a, F b) { return _mm256_sub_ps(a, b); }
    static F fdiv(F a, F b) { return _mm256_div_ps(a, b); }
    // The constant is the second operand: when v is NaN the result is the constant.
    static F fmin(F v, F bound) { return _mm256_min_ps(v, bound); }
    static F fmax(F v, F bound) { return _mm256_max_ps(v, bound); }
    static F round(F v) {
        return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    // 2^k for whole k in [-126, 127], built in the exponent field.
    static F pow2(F k) {
        const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
    }
    // v where a >= b, else 0 (also 0 where a is NaN).
    static F keep_where_ge(F v, F a, F b) {
        return _mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_GE_OQ), v);
    }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
};

#if defined(__AVX512F__) && defined(__AVX512BW__)
struct Avx512Math : Avx512Dot<false> {
    static F set1(float v) { return _mm512_set1_ps(v); }
    static F fsub(F a, F b) { return _mm512_sub_ps(a, b); }
    static F fdiv(F a, F b) { return _mm512_div_ps(a, b); }
    static F fmin(F v, F bound) { return _mm512_min_ps(v, bound); }
    static F fmax(F v, F bound) { return _mm512_max_ps(v, bound); }
    static F round(F v) {
        return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    static F pow2(F k) {
        const __m512i biased = _mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127));
        return _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23));
    }
    static F keep_where_ge(F v, F a, F b) {
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_GE_OQ), v);
    }
    static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
};
#endif

// exp(y) = 2^k * exp(r) with k = round(y / ln2) and |r| <= ln2 / 2.
constexpr float kLog2e = 1.44269504088896341f;
// ln2 = kLn2Hi + kLn2Lo: k * kLn2Hi is subtracted exactly (a fused multiply-add, and the
// difference fits in a float), the small kLn2Lo term then restores the precision.
constexpr float kLn2Hi = 0.693147182464599609375f;  // ln2 rounded to float
constexpr float kLn2Lo = -1.904654299957768e-9f;    // ln2 - kLn2Hi
// exp(r) ~ 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4) on [-ln2/2, ln2/2]: our own
// weighted Remez fit of the relative error, scripts/fit_exp_poly.py (3.1e-9, far below
// float's 6e-8 half ulp).
constexpr float kC2 = 0.49999993451708435f;
constexpr float kC3 = 0.1666652068983302f;
constexpr float kC4 = 0.04166838736126115f;
constexpr float kC5 = 0.008368709824171195f;
constexpr float kC6 = 0.0013814613260779772f;
// Arguments are clamped to [kMinArg, kMaxArg] so that 2^(k-1) below has a normal exponent
// (k in [-125, 128]). Above ln(FLT_MAX) = 88.72 the result overflows to inf, as expf's does;
// below kMinArg it is set to 0 (expf's there is under 2.7e-38, nothing next to 1 or a sum).
constexpr float kMaxArg = 88.9f;
constexpr float kMinArg = -86.5f;

// exp(y) to within about 1 ulp; inf above ln(FLT_MAX), 0 below kMinArg and for NaN.
template <typename V>
typename V::F vexp(typename V::F y) {
    using F = typename V::F;
    const F clamped = V::fmax(V::fmin(y, V::set1(kMaxArg)), V::set1(kMinArg));
    const F k = V::round(V::fmul(clamped, V::set1(kLog2e)));
    F r = V::fmadd(k, V::set1(-kLn2Hi), clamped);
    r = V::fmadd(k, V::set1(-kLn2Lo), r);
    F p = V::fmadd(V::set1(kC6), r, V::set1(kC5));
    p = V::fmadd(p, r, V::set1(kC4));
    p = V::fmadd(p, r, V::set1(kC3));
    p = V::fmadd(p, r, V::set1(kC2));
    p = V::fmadd(p, r, V::set1(1.0f));
    p = V::fmadd(p, r, V::set1(1.0f));
    // 2^k as 2^(k-1) * 2: k = 128 has no exponent field, and there the final doubling
    // overflows to inf exactly when the true result exceeds FLT_MAX.
    const F scaled = V::fmul(V::fmul(p, V::pow2(V::fsub(k, V::set1(1.0f)))), V::set1(2.0f));
    return V::keep_where_ge(scaled, y, V::set1(kMinArg));
}

// gate = gate / (1 + exp(-gate)) * up, in the scalar reference's order of operations.
template <typename V>
void x86_silu_gate(float* gate, const float* up, int64_t n) {
    constexpr int64_t kWidth = V::kFloats;
    const auto step = [](float* g, const float* u) {
        const typename V::F x = V::load_floats(g);
        const typename V::F e = vexp<V>(V::fsub(V::fzero(), x));
        V::store(g, V::fmul(V::fdiv(x, V::fadd(V::set1(1.0f), e)), V::load_floats(u)));
    };
    int64_t i = 0;
    for (; i + kWidth <= n; i += kWidth) step(gate + i, up + i);
    if (i == n) return;
    // The tail goes through a zero-padded copy (silu(0) = 0, nothing overflows).
    float g[kWidth] = {}, u[kWidth] = {};
    std::copy(gate + i, gate + n, g);
    std::copy(up + i, up + n, u);
    step(g, u);
    std::copy(g, g + (n - i), gate + i);
}

}  // namespace
}  // namespace ms::kernels
