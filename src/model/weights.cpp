#include "model/weights.h"

#include <stdexcept>

#include "gguf/gguf.h"

namespace ms::model {
namespace {

std::string shape_string(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

const gguf::TensorInfo& shaped(const gguf::File& f, const std::string& name,
                               const std::vector<int64_t>& want) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    if (!t) throw std::runtime_error("model: missing tensor '" + name + "'");
    if (t->dims != want)
        throw std::runtime_error("model: tensor '" + name + "' has shape " + shape_string(t->dims) +
                                 ", expected " + shape_string(want));
    return *t;
}

void require_matmul_type(const gguf::TensorInfo& t) {
    if (!kernels::supports(t.type))
        throw std::runtime_error("model: tensor '" + t.name + "' has type " +
                                 std::string(dtype_name(t.type)) +
                                 ", which matmul does not support");
}

}  // namespace

kernels::MatView matrix(const gguf::File& f, const std::string& name, int64_t cols, int64_t rows) {
    const auto& t = shaped(f, name, {cols, rows});
    require_matmul_type(t);
    return {t.type, t.data, rows, cols};
}

kernels::MatView stacked_matrix(const gguf::File& f, const std::string& name, int64_t cols,
                                int64_t rows, int64_t n, int64_t e) {
    const auto& t = shaped(f, name, {cols, rows, n});
    require_matmul_type(t);
    const int64_t bytes_per_matrix = row_bytes(t.type, cols) * rows;
    return {t.type, t.data + e * bytes_per_matrix, rows, cols};
}

std::span<const float> f32_vector(const gguf::File& f, const std::string& name, int64_t n) {
    const auto& t = shaped(f, name, {n});
    if (t.type != DType::F32)
        throw std::runtime_error("model: tensor '" + name + "' must be F32, is " +
                                 std::string(dtype_name(t.type)));
    return {reinterpret_cast<const float*>(t.data), size_t(n)};
}

bool has_tensor(const gguf::File& f, const std::string& name) {
    return f.find_tensor(name);
}

}  // namespace ms::model
