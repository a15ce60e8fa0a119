#include "engine/prefix_cache.h"

#include <xxhash.h>

#include <numeric>
#include <stdexcept>

namespace ms::engine {

PrefixCache::PrefixCache(int32_t n_blocks) : blocks_(size_t(n_blocks)), free_(size_t(n_blocks)) {
    std::iota(free_.rbegin(), free_.rend(), 0);  // pop_back hands out low ids first
}

uint64_t PrefixCache::chain_hash(uint64_t parent, std::span<const int32_t> block_tokens) {
    return XXH3_64bits_withSeed(block_tokens.data(), block_tokens.size_bytes(), parent);
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
        found.push_back(it->second);
    }
    return found;
}

int32_t PrefixCache::allocate() {
    int32_t block;
    if (!free_.empty()) {
        block = free_.back();
        free_.pop_back();
    } else if (!lru_.empty()) {
        block = lru_.front();
        lru_.pop_front();
        forget_name(block);
    } else {
        return -1;
    }
    blocks_[size_t(block)].refs = 1;
    ++n_used_;
    return block;
}

void PrefixCache::publish(int32_t block, uint64_t hash) {
    Block& b = blocks_.at(size_t(block));
    if (b.named || by_hash_.count(hash)) return;  // an equal block is already findable
    b.named = true;
    b.hash = hash;
    by_hash_[hash] = block;
}

void PrefixCache::release(int32_t block) {
    Block& b = blocks_.at(size_t(block));
    if (b.refs <= 0) throw std::logic_error("prefix cache: releasing an unreferenced block");
    if (--b.refs > 0) return;
    --n_used_;
    if (b.named) {
        b.lru_pos = lru_.insert(lru_.end(), block);
    } else {
        free_.push_back(block);
    }
}

void PrefixCache::forget_name(int32_t block) {
    Block& b = blocks_[size_t(block)];
    if (!b.named) return;
    by_hash_.erase(b.hash);
    b.named = false;
}

}  // namespace ms::engine
