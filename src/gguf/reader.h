// Bounds-checked little-endian cursor over a GGUF image. Every read checks the remaining
// bytes first, so a truncated or lying file ends in Error, never in an out-of-bounds read.
#pragma once
#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "gguf/gguf.h"

namespace ms::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF is read without byte swapping");

class Reader {
public:
    explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    // What is being read, for error messages ("tensor info 3 ('blk.0.attn_q.weight')").
    void set_context(std::string what) { context_ = std::move(what); }
    const std::string& context() const { return context_; }

    uint64_t offset() const { return pos_; }
    uint64_t remaining() const { return bytes_.size() - pos_; }

    template <class T>
    T read() {
        static_assert(std::is_trivially_copyable_v<T>);
        require(sizeof(T));
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    std::string read_string() {
        const auto length = read<uint64_t>();
        if (length > remaining())
            fail(fmt::format("string length {} runs past the end of the file", length));
        std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
        pos_ += length;
        return s;
    }

    // Throws "gguf: PROBLEM while reading CONTEXT".
    [[noreturn]] void fail(std::string_view problem) const {
        throw Error(fmt::format("gguf: {} while reading {}", problem, context_));
    }

private:
    void require(uint64_t n) const {
        if (n > remaining()) throw Error(fmt::format("gguf: truncated while reading {}", context_));
    }

    std::span<const uint8_t> bytes_;
    uint64_t pos_ = 0;
    std::string context_ = "header";
};

}  // namespace ms::gguf
