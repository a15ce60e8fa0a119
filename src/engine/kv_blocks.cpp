#include "engine/kv_blocks.h"

#include <numeric>
#include <stdexcept>

namespace ms::engine {

BlockPool::BlockPool(int32_t n_blocks) : n_total_(n_blocks), free_(size_t(n_blocks)) {
    // Hand out low ids first: pop_back takes the smallest.
    std::iota(free_.rbegin(), free_.rend(), 0);
}

int32_t BlockPool::allocate() {
    if (free_.empty()) return -1;
    const int32_t block = free_.back();
    free_.pop_back();
    return block;
}

void BlockPool::release(int32_t block) {
    if (block < 0 || block >= n_total_) throw std::out_of_range("kv: releasing a foreign block");
    free_.push_back(block);
}

bool BlockTable::reserve(BlockPool& pool, int32_t n_tokens, int32_t block_size) {
    const size_t needed = size_t((n_tokens + block_size - 1) / block_size);
    if (needed <= blocks_.size()) return true;
    if (size_t(pool.n_free()) < needed - blocks_.size()) return false;
    while (blocks_.size() < needed) blocks_.push_back(pool.allocate());
    return true;
}

void BlockTable::release(BlockPool& pool) {
    for (int32_t b : blocks_) pool.release(b);
    blocks_.clear();
}

}  // namespace ms::engine
