// Internal interface between matmul.cpp and the per-ISA kernels: the activation format each
// weight type is multiplied against, and per-ISA tables of row dot products.
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace ms::kernels {

// How an activation row is prepared for a weight type (llama.cpp's vec_dot_type).
enum class ActFormat { F32, Q8_0, Q8_1, Q8_K };

ActFormat act_format(DType weight_type);
int64_t act_row_bytes(ActFormat format, int64_t cols);
// Converts cols floats (a multiple of the format's block size) into format.
void quantize_act_row(ActFormat format, const float* x, void* dst, int64_t cols);

// Dot product of one weight row with one prepared activation row of cols elements.
using RowDot = float (*)(const void* w_row, const void* act_row, int64_t cols);

// Per-ISA tables; null when that ISA has no kernel of its own for the type (the caller falls
// back to the next lower ISA). scalar_row_dot covers every supported type.
RowDot scalar_row_dot(DType type);
RowDot avx2_row_dot(DType type);
RowDot avx512_row_dot(DType type);
RowDot avx512_vnni_row_dot(DType type);

}  // namespace ms::kernels
