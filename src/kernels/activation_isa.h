// Internal interface between activation.cpp and the per-ISA activation kernels, each defined
// in a file compiled for its instruction set only.
#pragma once
#include <cstdint>

namespace ms::kernels {

void avx2_silu_gate(float* gate, const float* up, int64_t n);
void avx512_silu_gate(float* gate, const float* up, int64_t n);

}  // namespace ms::kernels
