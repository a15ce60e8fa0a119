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

// Several tokens at once: y[t * y_stride + r] = dot(weight row r, activation row t) for
// r < n_rows, t < n_tokens, activation rows act_stride bytes apart. Each weight block is
// unpacked once per group of tokens; every (row, token) result is bit-identical to DotRows'.
using DotTokens = void (*)(const void* w, int64_t stride, int64_t n_rows, const void* act,
                           int64_t act_stride, int64_t n_tokens, int64_t cols, float* y,
                           int64_t y_stride);

// Per-ISA tables; null when that ISA has no kernel of its own for the type (the caller falls
// back to the next lower ISA). scalar_dot_rows covers every supported type.
DotRows scalar_dot_rows(DType type);
DotRows avx2_dot_rows(DType type);
DotRows avx512_dot_rows(DType type);
DotRows avx512_vnni_dot_rows(DType type);

// The multi-token kernel of the same ISA as the *_dot_rows kernel for the type, null when that
// ISA has none (the caller then runs DotRows once per token). scalar_dot_tokens, the
// reference, covers every supported type.
DotTokens scalar_dot_tokens(DType type);
DotTokens avx2_dot_tokens(DType type);
DotTokens avx512_dot_tokens(DType type);
DotTokens avx512_vnni_dot_tokens(DType type);

}  // namespace ms::kernels
