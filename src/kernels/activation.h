// Elementwise activations, with a scalar reference and SIMD versions chosen at run time the
// way matmul chooses (same Isa levels, same MATRIXSERVE_MAX_ISA cap).
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace ms::kernels {

// gate[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + exp(-x)). The SIMD versions evaluate
// exp with a polynomial: within a few ulp of the scalar libm version, and like it they give
// -0 (not NaN) once exp(-x) overflows and x (not inf or NaN) for large x.
void silu_gate(float* gate, const float* up, int64_t n);
// The same with a chosen instruction set (clamped to detected_isa); Isa::Scalar is the
// reference, computed with std::exp.
void silu_gate_with(Isa isa, float* gate, const float* up, int64_t n);

}  // namespace ms::kernels
