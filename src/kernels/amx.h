// Intel AMX (tile matrix multiply) kernels for the legacy 32-element formats, internal to the
// kernels. Each (weight row, token) pair goes through exactly the reference's arithmetic: an
// exact integer sum per block (one tile multiply gives 16 rows x 16 tokens of them), then the
// block's scales in float in the scalar kernel's order. So AMX results equal the scalar
// reference bit for bit, whatever the number of tokens or threads.
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace ms::kernels {

// The CPU has AMX-INT8 and the kernel lets this process use the tile registers (asked once).
bool amx_available();
// Weight types with an AMX kernel: the legacy formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0.
bool amx_supports(DType type);
// matmul() on AMX; the weight type must be supported and the CPU must have AMX.
void amx_matmul(const MatView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);

}  // namespace ms::kernels
