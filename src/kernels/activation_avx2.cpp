// Compiled with -mavx2 -mfma -mf16c.
#include "kernels/activation_isa.h"
#include "kernels/activation_x86_impl.h"

namespace ms::kernels {

void avx2_silu_gate(float* gate, const float* up, int64_t n) {
    x86_silu_gate<Avx2Math>(gate, up, n);
}

}  // namespace ms::kernels
