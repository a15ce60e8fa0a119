// Read-only bytes a GGUF File parses and points into: a private file mapping or an aligned
// heap copy of an in-memory image. Private to the gguf module.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace ms::gguf {

class ByteSource {
public:
    // Maps the whole file read-only. Throws Error (without the path; File::open adds it).
    static ByteSource map_file(const std::string& path);
    // Copies bytes into a page-aligned buffer, so tensor data is as aligned as in a mapping.
    static ByteSource copy_of(std::span<const uint8_t> bytes);

    ByteSource(ByteSource&& other) noexcept;
    ByteSource& operator=(ByteSource&& other) noexcept;
    ByteSource(const ByteSource&) = delete;
    ByteSource& operator=(const ByteSource&) = delete;
    ~ByteSource();

    std::span<const uint8_t> bytes() const { return {data_, size_}; }

private:
    enum class Kind { kEmpty, kMapped, kHeap };
    ByteSource(Kind kind, uint8_t* data, size_t size) : kind_(kind), data_(data), size_(size) {}
    void release() noexcept;

    Kind kind_ = Kind::kEmpty;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace ms::gguf
