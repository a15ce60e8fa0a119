// Typed, shape-checked access to a model file's tensors (views into the mapping).
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "kernels/matmul.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

// A weight matrix with `rows` outputs of `cols` inputs. Throws std::runtime_error naming the
// tensor when it is missing, has another shape, or a type the kernels cannot multiply.
kernels::MatView matrix(const gguf::File& f, const std::string& name, int64_t cols, int64_t rows);
// A stack of n matrices in one 3-D tensor (MoE experts): returns matrix e of the stack.
kernels::MatView stacked_matrix(const gguf::File& f, const std::string& name, int64_t cols,
                                int64_t rows, int64_t n, int64_t e);
// An F32 vector of n elements (norm weights).
std::span<const float> f32_vector(const gguf::File& f, const std::string& name, int64_t n);
bool has_tensor(const gguf::File& f, const std::string& name);

}  // namespace ms::model
