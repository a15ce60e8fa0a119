// A minimal GGUF writer for tests: builds valid images byte by byte, and lets a test bend
// any field (counts, offsets, dims, types) to make corrupted variants.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"

namespace ms::gguf::testing {

// Appends little-endian fields to a byte vector.
class ByteWriter {
public:
    template <class T>
    ByteWriter& put(T value) {
        const auto* p = reinterpret_cast<const uint8_t*>(&value);
        bytes.insert(bytes.end(), p, p + sizeof(T));
        return *this;
    }
    ByteWriter& str(std::string_view s) {
        put<uint64_t>(s.size());
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    ByteWriter& raw(const std::vector<uint8_t>& more) {
        bytes.insert(bytes.end(), more.begin(), more.end());
        return *this;
    }

    std::vector<uint8_t> bytes;
};

// A metadata value as written: its type tag and the bytes that follow it.
struct EncodedValue {
    ValueType type;
    std::vector<uint8_t> payload;
};

template <class T>
EncodedValue scalar(ValueType type, T value) {
    return {type, ByteWriter().put(value).bytes};
}

inline EncodedValue string_value(std::string_view s) {
    return {ValueType::STRING, ByteWriter().str(s).bytes};
}

template <class T>
EncodedValue array(ValueType element_type, const std::vector<T>& elements) {
    ByteWriter w;
    w.put(static_cast<uint32_t>(element_type)).put<uint64_t>(elements.size());
    for (const T& e : elements) w.put(e);
    return {ValueType::ARRAY, w.bytes};
}

inline EncodedValue string_array(const std::vector<std::string>& elements) {
    ByteWriter w;
    w.put(static_cast<uint32_t>(ValueType::STRING)).put<uint64_t>(elements.size());
    for (const auto& e : elements) w.str(e);
    return {ValueType::ARRAY, w.bytes};
}

class GgufBuilder {
public:
    GgufBuilder& version(uint32_t v) {
        version_ = v;
        return *this;
    }
    GgufBuilder& kv(std::string key, EncodedValue value) {
        metadata_.push_back({std::move(key), std::move(value)});
        return *this;
    }
    // Writes general.alignment and pads the file with it.
    GgufBuilder& alignment(uint32_t a) {
        alignment_ = a;
        return kv("general.alignment", scalar(ValueType::U32, a));
    }
    // A tensor whose data is laid out after the previous ones; byte i of tensor k is k + 1.
    GgufBuilder& tensor(std::string name, std::vector<uint64_t> dims, DType type = DType::F32) {
        const uint64_t offset = align(data_.size());
        uint64_t elements = 1;
        for (const uint64_t d : dims) elements *= d;
        const auto& tr = traits(type);
        const uint64_t n_bytes = elements / tr.block_elems * tr.block_bytes;
        data_.resize(offset, 0);
        data_.resize(offset + n_bytes, static_cast<uint8_t>(tensors_.size() + 1));
        return tensor_at(std::move(name), std::move(dims), static_cast<uint32_t>(type), offset);
    }
    // An F32 tensor holding the given values (as many as the dims multiply to).
    GgufBuilder& tensor_values(std::string name, std::vector<uint64_t> dims,
                               const std::vector<float>& values) {
        const uint64_t offset = align(data_.size());
        data_.resize(offset + values.size() * sizeof(float), 0);
        std::memcpy(data_.data() + offset, values.data(), values.size() * sizeof(float));
        return tensor_at(std::move(name), std::move(dims), static_cast<uint32_t>(DType::F32),
                         offset);
    }
    // A tensor with an arbitrary type id and offset and no data of its own.
    GgufBuilder& tensor_at(std::string name, std::vector<uint64_t> dims, uint32_t type,
                           uint64_t offset) {
        tensors_.push_back({std::move(name), std::move(dims), type, offset});
        return *this;
    }
    // Overrides the counts written in the header.
    GgufBuilder& tensor_count(uint64_t n) {
        tensor_count_ = n;
        return *this;
    }
    GgufBuilder& metadata_count(uint64_t n) {
        metadata_count_ = n;
        return *this;
    }

    std::vector<uint8_t> build() const {
        ByteWriter w;
        w.raw({'G', 'G', 'U', 'F'}).put(version_);
        w.put<uint64_t>(tensor_count_.value_or(tensors_.size()));
        w.put<uint64_t>(metadata_count_.value_or(metadata_.size()));
        for (const auto& [key, value] : metadata_)
            w.str(key).put(static_cast<uint32_t>(value.type)).raw(value.payload);
        for (const auto& t : tensors_) {
            w.str(t.name).put(static_cast<uint32_t>(t.dims.size()));
            for (const uint64_t d : t.dims) w.put(d);
            w.put(t.type).put(t.offset);
        }
        if (tensors_.empty()) return w.bytes;  // no data section to align
        w.bytes.resize(align(w.bytes.size()), 0);
        return w.raw(data_).bytes;
    }

private:
    struct Tensor {
        std::string name;
        std::vector<uint64_t> dims;
        uint32_t type;
        uint64_t offset;
    };
    uint64_t align(uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }

    uint32_t version_ = 3;
    uint64_t alignment_ = 32;
    std::optional<uint64_t> tensor_count_;
    std::optional<uint64_t> metadata_count_;
    std::vector<std::pair<std::string, EncodedValue>> metadata_;
    std::vector<Tensor> tensors_;
    std::vector<uint8_t> data_;
};

}  // namespace ms::gguf::testing
