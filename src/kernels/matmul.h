// Matrix-vector and matrix-matrix products against weights in their stored (possibly
// quantized) format, with a scalar reference and SIMD versions chosen at run time.
#pragma once
#include <cstdint>
#include <string_view>

#include "tensor/dtype.h"

namespace ms {
class ThreadPool;
}

namespace ms::kernels {

// Amx: AMX-INT8 tile multiplies for the legacy formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), AVX-512
// VNNI for the rest.
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Vnni = 3, Amx = 4 };
std::string_view isa_name(Isa isa);
Isa detected_isa();            // the best this CPU supports
Isa active_isa();              // what matmul uses (defaults to detected_isa)
void set_active_isa(Isa isa);  // clamped to detected_isa; for tests and benchmarks

// A weight matrix of `rows` rows, each `cols` elements of `type`, rows contiguous.
struct MatView {
    DType type = DType::F32;
    const void* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
};

bool supports(DType type);  // dequantize_row and matmul accept it

// Dequantizes n elements (a multiple of the block size) into dst.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// y[t * w.rows + r] = sum_k W[r][k] * x[t * w.cols + k] for t < n_tokens.
// Quantized weights are multiplied against activations quantized to 8 bits per block (the
// way llama.cpp does it), so results match llama.cpp's closely. pool may be null.
void matmul(const MatView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);
// The same with a chosen instruction set (clamped to detected_isa), for tests.
void matmul_with(Isa isa, const MatView& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool* pool);

// y[r] = dot(row r, x) for n_rows F32 rows of cols elements spaced stride floats apart (an
// attention head's scores against a block of cached keys).
void dot_rows_f32(const float* rows, int64_t stride, int64_t n_rows, const float* x, int64_t cols,
                  float* y);

}  // namespace ms::kernels
