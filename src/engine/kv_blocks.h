// Paged KV cache bookkeeping: a pool of fixed-size blocks and per-sequence block tables.
// The storage itself lives in the attention units; this decides which block holds what.
#pragma once
#include <cstdint>
#include <vector>

namespace ms::engine {

class BlockPool {
public:
    explicit BlockPool(int32_t n_blocks);
    int32_t n_total() const { return n_total_; }
    int32_t n_free() const { return int32_t(free_.size()); }
    // Returns -1 when no block is free.
    int32_t allocate();
    void release(int32_t block);

private:
    int32_t n_total_;
    std::vector<int32_t> free_;
};

// The blocks of one sequence, in position order.
class BlockTable {
public:
    // Grows the table to hold n_tokens positions; false (and unchanged) when the pool runs out.
    bool reserve(BlockPool& pool, int32_t n_tokens, int32_t block_size);
    void release(BlockPool& pool);
    const std::vector<int32_t>& blocks() const { return blocks_; }

private:
    std::vector<int32_t> blocks_;
};

}  // namespace ms::engine
