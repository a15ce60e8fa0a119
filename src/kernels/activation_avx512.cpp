// Compiled with -mavx512f -mavx512bw -mavx512vl (plus the AVX2 set).
#include "kernels/activation_isa.h"
#include "kernels/activation_x86_impl.h"

namespace ms::kernels {

void avx512_silu_gate(float* gate, const float* up, int64_t n) {
    x86_silu_gate<Avx512Math>(gate, up, n);
}

}  // namespace ms::kernels
