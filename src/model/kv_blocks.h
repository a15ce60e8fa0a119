// One layer's cache rows (one row of `width` floats per token) in blocks of block_size
// tokens: [block][slot][width]. Token positions map to blocks through each sequence's block
// table (see Batch), so rows of one block are contiguous. The memory is mapped, not filled:
// a page is committed when a block on it is first written, so an idle server holds little.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/unit.h"

namespace ms::model {

struct UnmapFloats {
    size_t bytes = 0;
    void operator()(float* p) const;
};

class KvBlocks {
public:
    void reserve(int32_t n_blocks, int32_t block_size, int64_t width);

    int32_t block_size() const { return block_size_; }
    int64_t width() const { return width_; }
    int64_t n_blocks() const;

    float* row(std::span<const int32_t> table, int32_t pos) {
        return data_.get() + offset(table, pos);
    }
    const float* row(std::span<const int32_t> table, int32_t pos) const {
        return data_.get() + offset(table, pos);
    }

    // One block's rows, back to back (moving KV between instances). Throws std::out_of_range
    // for a block that is not reserved.
    std::span<std::byte> block_bytes(int32_t block);

    // Throws std::out_of_range, naming `owner`, when the batch's block size differs from the
    // store's, a table entry is not a reserved block, or a token's position has no block.
    void check(const Batch& batch, const std::string& owner) const;

private:
    size_t offset(std::span<const int32_t> table, int32_t pos) const;

    int32_t block_size_ = 0;
    int64_t width_ = 0;
    size_t n_floats_ = 0;
    std::unique_ptr<float, UnmapFloats> data_;
};

}  // namespace ms::model
