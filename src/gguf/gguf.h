// GGUF (v2, v3) reader: maps a model file and validates its header, metadata and tensor
// table before anything uses them. Every problem is reported as ms::gguf::Error with a
// message naming it; nothing here crashes on a bad file.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensor/dtype.h"

namespace ms::gguf {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
std::string_view value_type_name(ValueType t);

// A metadata value. Scalars are widened into one of the variant alternatives; arrays keep
// their element type and hold every element in a vector of the widened type.
struct Value {
    ValueType type = ValueType::U8;
    ValueType array_type = ValueType::U8;  // element type when type == ARRAY
    std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<uint64_t>,
                 std::vector<int64_t>, std::vector<double>, std::vector<bool>,
                 std::vector<std::string>>
        data;

    bool is_array() const { return type == ValueType::ARRAY; }
    size_t array_size() const;  // 0 for scalars
};

struct TensorInfo {
    std::string name;
    std::vector<int64_t> dims;  // ggml order: dims[0] is the contiguous (row) dimension
    DType type = DType::F32;
    uint64_t offset = 0;  // from the start of the data section
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // into the mapping; valid while the File lives

    int64_t n_elements() const;
    int64_t row_size() const { return dims.empty() ? 1 : dims[0]; }  // elements per row
    int64_t n_rows() const { return n_elements() / row_size(); }
};

class File {
public:
    // Maps and validates the file at path. Throws Error.
    static File open(const std::string& path);
    // Parses a copy of an in-memory image (tests and fuzzing). Throws Error.
    static File from_bytes(std::span<const uint8_t> bytes);

    File(File&&) noexcept;
    File& operator=(File&&) noexcept;
    ~File();

    uint32_t version() const;
    uint64_t alignment() const;
    const std::string& path() const;  // empty for in-memory images

    // Metadata in file order.
    const std::vector<std::pair<std::string, Value>>& metadata() const;
    const Value* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Typed getters: throw Error naming the key when it is missing or has another type.
    // Integer getters accept any integer type whose value fits.
    std::string get_string(std::string_view key) const;
    uint64_t get_u64(std::string_view key) const;
    uint32_t get_u32(std::string_view key) const;
    float get_f32(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    // With a fallback when the key is missing (still throws on a wrong type).
    std::string get_string(std::string_view key, std::string_view fallback) const;
    uint32_t get_u32(std::string_view key, uint32_t fallback) const;
    float get_f32(std::string_view key, float fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;
    // Array getters (throw Error naming the key when missing or of another element type).
    const std::vector<std::string>& get_string_array(std::string_view key) const;
    std::vector<float> get_f32_array(std::string_view key) const;
    std::vector<int64_t> get_int_array(std::string_view key) const;

    const std::vector<TensorInfo>& tensors() const;
    const TensorInfo* find_tensor(std::string_view name) const;
    // Throws Error "missing tensor NAME" when absent.
    const TensorInfo& tensor(std::string_view name) const;

private:
    struct Impl;
    explicit File(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Human-readable rendering of a value (arrays abbreviated), for `matrixserve inspect`.
std::string to_display_string(const Value& v, size_t max_array_items = 8);

}  // namespace ms::gguf
