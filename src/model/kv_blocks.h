// One layer's cache rows (one row of `width` floats per token) in blocks of block_size
// tokens: [block][slot][width]. Token positions map to blocks through each sequence's block
// table (see Batch), so rows of one block are contiguous.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/unit.h"

namespace ms::model {

class KvBlocks {
public:
    void reserve(int32_t n_blocks, int32_t block_size, int64_t width);

    int32_t block_size() const { return block_size_; }
    int64_t width() const { return width_; }
    int64_t n_blocks() const;

    float* row(std::span<const int32_t> table, int32_t pos) {
        return data_.data() + offset(table, pos);
    }
    const float* row(std::span<const int32_t> table, int32_t pos) const {
        return data_.data() + offset(table, pos);
    }

    // Throws std::out_of_range, naming `owner`, when the batch's block size differs from the
    // store's, a table entry is not a reserved block, or a token's position has no block.
    void check(const Batch& batch, const std::string& owner) const;

private:
    size_t offset(std::span<const int32_t> table, int32_t pos) const;

    int32_t block_size_ = 0;
    int64_t width_ = 0;
    std::vector<float> data_;
};

}  // namespace ms::model
