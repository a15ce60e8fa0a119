// Compiled with -mavx512f -mavx512bw -mavx512vl (plus the AVX2 set).
#include "kernels/dot_x86_impl.h"

namespace ms::kernels {

RowDot avx512_row_dot(DType type) {
    return x86_row_dot<Avx512Dot<false>>(type);
}

}  // namespace ms::kernels
