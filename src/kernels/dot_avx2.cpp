#include "kernels/row_dot.h"

namespace ms::kernels {

RowDot avx2_row_dot(DType) {
    return nullptr;
}

}  // namespace ms::kernels
