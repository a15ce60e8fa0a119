// Stand-in for <immintrin.h> when the AVX-512 kernels are built for a CPU without AVX-512:
// SIMDe's portable implementations under the usual intrinsic names, plus the few that
// SIMDe 0.7.4 lacks or mis-declares, written as element loops.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>

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

static inline float _mm512_reduce_add_ps(simde__m512 v) {
    float lanes[16];
    simde_mm512_storeu_ps(lanes, v);
    float sum = 0.0f;
    for (float lane : lanes) sum += lane;
    return sum;
}

static inline float _cvtsh_ss(uint16_t h) {
    return simde_mm_cvtss_f32(simde_mm_cvtph_ps(simde_mm_cvtsi32_si128(h)));
}
