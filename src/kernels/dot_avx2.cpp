// Compiled with -mavx2 -mfma -mf16c.
#include "kernels/dot_x86_impl.h"

namespace ms::kernels {

RowDot avx2_row_dot(DType type) {
    return x86_row_dot<Avx2>(type);
}

}  // namespace ms::kernels
