// Compiled with -mavx512vnni on top of the AVX-512 set. Only the kernels built on u8 x s8
// dot products change; the others come from dot_avx512.cpp through the fallback.
#include "kernels/dot_x86_impl.h"

namespace ms::kernels {

DotRows avx512_vnni_dot_rows(DType type) {
    return x86_quant_dot_rows<Avx512Dot<true>>(type);
}

DotTokens avx512_vnni_dot_tokens(DType type) {
    return x86_dot_tokens<Avx512Dot<true>>(type);
}

}  // namespace ms::kernels
