// Compiled with -mavx512f -mavx512bw -mavx512vl (plus the AVX2 set).
#include "kernels/dot_x86_impl.h"

namespace ms::kernels {

DotRows avx512_dot_rows(DType type) {
    return x86_dot_rows<Avx512Dot<false>>(type);
}

DotTokens avx512_dot_tokens(DType type) {
    return x86_dot_tokens<Avx512Dot<false>>(type);
}

}  // namespace ms::kernels
