#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

#include "kernels/activation_isa.h"

namespace ms::kernels {
namespace {

void scalar_silu_gate(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

using SiluGate = void (*)(float*, const float*, int64_t);

// Indexed by Isa: the VNNI and AMX levels add nothing for float elementwise work.
constexpr SiluGate kSiluGate[] = {scalar_silu_gate, avx2_silu_gate, avx512_silu_gate,
                                  avx512_silu_gate, avx512_silu_gate};

}  // namespace

void silu_gate(float* gate, const float* up, int64_t n) {
    silu_gate_with(active_isa(), gate, up, n);
}

void silu_gate_with(Isa isa, float* gate, const float* up, int64_t n) {
    kSiluGate[int(std::min(isa, detected_isa()))](gate, up, n);
}

}  // namespace ms::kernels
