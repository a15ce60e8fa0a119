// Stand-in for <immintrin.h> when the AVX-512 kernels are built for a CPU without AVX-512:
// SIMDe's portable implementations under the usual intrinsic names, plus the few that
// SIMDe 0.7.4 lacks or mis-declares, written as element loops. Where the float results depend
// on it, the emulation rounds as the hardware does (fused multiply-adds; GCC's order of the
// 512-bit reduction), so emulated kernels can be compared with native ones bit for bit.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>

#include <cmath>
#include <cstdint>

// SIMDe 0.7.4 declares the alias with the masked variant's four arguments.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

typedef simde__mmask64 __mmask64;

static inline simde__m512 _mm512_cvtepi32_ps(simde__m512i v) {
    int32_t in[16];
    float out[16];
    simde_mm512_storeu_si512(in, v);
    for (int i = 0; i < 16; ++i) out[i] = float(in[i]);
    return simde_mm512_loadu_ps(out);
}

static inline simde__m512i _mm512_cvtepu16_epi32(simde__m256i v) {
    uint16_t in[16];
    int32_t out[16];
    simde_mm256_storeu_si256(in, v);
    for (int i = 0; i < 16; ++i) out[i] = in[i];
    return simde_mm512_loadu_si512(out);
}

static inline simde__m512 _mm512_cvtph_ps(simde__m256i v) {
    uint16_t in[16];
    float out[16];
    simde_mm256_storeu_si256(in, v);
    simde_mm256_storeu_ps(out, simde_mm256_cvtph_ps(simde_mm_loadu_si128(in)));
    simde_mm256_storeu_ps(out + 8, simde_mm256_cvtph_ps(simde_mm_loadu_si128(in + 8)));
    return simde_mm512_loadu_ps(out);
}

// GCC's order: the high 256 bits added to the low, then the high 128 to the low, then lanes
// {2, 3} to {0, 1}, then lane 1 to lane 0.
static inline float _mm512_reduce_add_ps(simde__m512 v) {
    float lanes[16], half[8], quarter[4];
    simde_mm512_storeu_ps(lanes, v);
    for (int i = 0; i < 8; ++i) half[i] = lanes[8 + i] + lanes[i];
    for (int i = 0; i < 4; ++i) quarter[i] = half[4 + i] + half[i];
    return (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
}

// SIMDe's portable multiply-adds round the product before adding it; the hardware does not.
#define MS_FUSED_MULTIPLY_ADD(name, vec, lanes, store, load)               \
    static inline vec name(vec a, vec b, vec c) {                          \
        float x[lanes], y[lanes], z[lanes];                                \
        store(x, a);                                                       \
        store(y, b);                                                       \
        store(z, c);                                                       \
        for (int i = 0; i < lanes; ++i) z[i] = std::fma(x[i], y[i], z[i]); \
        return load(z);                                                    \
    }
MS_FUSED_MULTIPLY_ADD(ms_fmadd_ps512, simde__m512, 16, simde_mm512_storeu_ps, simde_mm512_loadu_ps)
MS_FUSED_MULTIPLY_ADD(ms_fmadd_ps256, simde__m256, 8, simde_mm256_storeu_ps, simde_mm256_loadu_ps)
MS_FUSED_MULTIPLY_ADD(ms_fmadd_ps128, simde__m128, 4, simde_mm_storeu_ps, simde_mm_loadu_ps)
#undef MS_FUSED_MULTIPLY_ADD
#undef _mm512_fmadd_ps
#undef _mm256_fmadd_ps
#undef _mm_fmadd_ps
#define _mm512_fmadd_ps(a, b, c) ms_fmadd_ps512(a, b, c)
#define _mm256_fmadd_ps(a, b, c) ms_fmadd_ps256(a, b, c)
#define _mm_fmadd_ps(a, b, c) ms_fmadd_ps128(a, b, c)

static inline float _cvtsh_ss(uint16_t h) {
    return simde_mm_cvtss_f32(simde_mm_cvtph_ps(simde_mm_cvtsi32_si128(h)));
}
