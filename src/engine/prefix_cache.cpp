#include "engine/prefix_cache.h"

#include <xxhash.h>

#include <numeric>
#include <stdexcept>

namespace ms::engine {

PrefixCache::PrefixCache(int32_t n_blocks, int32_t first_block)
    : first_block_(first_block), blocks_(size_t(n_blocks)), free_(size_t(n_blocks)) {
    std::iota(free_.rbegin(), free_.rend(), 0);  // pop_back hands out low ids first
}

uint64_t PrefixCache::chain_hash(uint64_t parent, std::span<const int32_t> block_tokens) {
    return XXH3_64bits_withSeed(block_tokens.data(), block_tokens.size_bytes(), parent);
}

std::vector<uint64_t> PrefixCache::block_hashes(std::span<const int32_t> tokens,
                                                int32_t block_size) {
    const size_t bs = size_t(block_size);
    std::vector<uint64_t> hashes;
    for (uint64_t parent = 0; (hashes.size() + 1) * bs <= tokens.size();)
        hashes.push_back(parent = chain_hash(parent, tokens.subspan(hashes.size() * bs, bs)));
    return hashes;
}

std::vector<int32_t> PrefixCache::acquire_prefix(std::span<const uint64_t> block_hashes) {
    std::vector<int32_t> found;
    for (uint64_t hash : block_hashes) {
        const auto it = by_hash_.find(hash);
        if (it == by_hash_.end()) break;
        Block& b = blocks_[size_t(it->second)];
        if (b.refs++ == 0) {
            lru_.erase(b.lru_pos);
            ++n_used_;
        }
        found.push_back(first_block_ + it->second);
    }
    return found;
}

int32_t PrefixCache::allocate() {
    int32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else if (!lru_.empty()) {
        index = lru_.front();
        lru_.pop_front();
        forget_name(index);
    } else {
        return -1;
    }
    blocks_[size_t(index)].refs = 1;
    ++n_used_;
    return first_block_ + index;
}

PrefixCache::Block& PrefixCache::block_at(int32_t block) {
    return blocks_.at(size_t(int64_t(block) - first_block_));
}

void PrefixCache::publish(int32_t block, uint64_t hash) {
    Block& b = block_at(block);
    if (b.named || by_hash_.count(hash)) return;  // an equal block is already findable
    b.named = true;
    b.hash = hash;
    by_hash_[hash] = block - first_block_;
}

void PrefixCache::release(int32_t block) {
    Block& b = block_at(block);
    if (b.refs <= 0) throw std::logic_error("prefix cache: releasing an unreferenced block");
    if (--b.refs > 0) return;
    --n_used_;
    if (b.named) {
        b.lru_pos = lru_.insert(lru_.end(), block - first_block_);
    } else {
        free_.push_back(block - first_block_);
    }
}

void PrefixCache::forget_name(int32_t index) {
    Block& b = blocks_[size_t(index)];
    if (!b.named) return;
    by_hash_.erase(b.hash);
    b.named = false;
}

}  // namespace ms::engine
