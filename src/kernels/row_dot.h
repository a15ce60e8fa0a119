// Internal interface between matmul.cpp and the per-ISA kernels: the activation format each
// weight type is multiplied against, and per-ISA tables of row dot products.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace ms::kernels {

// How an activation row is prepared for a weight type (llama.cpp's vec_dot_type).
enum class ActFormat { F32, Q8_0, Q8_1, Q8_K };

ActFormat act_format(DType weight_type);
int64_t act_row_bytes(ActFormat format, int64_t cols);
// Converts cols floats (a multiple of the format's block size) into format.
void quantize_act_row(ActFormat format, const float* x, void* dst, int64_t cols);

// y[r] = dot(weight row r, act_row) for r < n_rows: weight rows start stride bytes apart, the
// activation row is prepared in the type's format, all rows are cols elements long.
using DotRows = void (*)(const void* w, int64_t stride, int64_t n_rows, const void* act_row,
                         int64_t cols, float* y);

// Per-ISA tables; null when that ISA has no kernel of its own for the type (the caller falls
// back to the next lower ISA). scalar_dot_rows covers every supported type.
DotRows scalar_dot_rows(DType type);
DotRows avx2_dot_rows(DType type);
DotRows avx512_dot_rows(DType type);
DotRows avx512_vnni_dot_rows(DType type);

}  // namespace ms::kernels
