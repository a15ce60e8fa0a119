#include "kernels/row_dot.h"

namespace ms::kernels {

RowDot avx512_vnni_row_dot(DType) {
    return nullptr;
}

}  // namespace ms::kernels
