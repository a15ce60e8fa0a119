// Compiled with -mavx512vnni on top of the AVX-512 set. Only the kernels built on u8 x s8
// dot products change; the others come from dot_avx512.cpp through the fallback.
#include "kernels/dot_x86_impl.h"

namespace ms::kernels {

RowDot avx512_vnni_row_dot(DType type) {
    return x86_legacy_row_dot<Avx512Dot<true>>(type);
}

}  // namespace ms::kernels
