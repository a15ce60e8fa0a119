// Compiled with -mavx2 -mfma -mf16c.
#include "kernels/dot_x86_impl.h"

namespace ms::kernels {

DotRows avx2_dot_rows(DType type) {
    return x86_dot_rows<Avx2>(type);
}

DotTokens avx2_dot_tokens(DType type) {
    return x86_dot_tokens<Avx2>(type);
}

}  // namespace ms::kernels
