// KV blocks shared between requests by content: a full block is named by a hash chained over
// every token before and in it, so two prompts with the same prefix map to the same blocks.
// Blocks are reference counted; a block nobody references stays cached (still findable) until
// it is the least recently used one and a new block is needed.
#pragma once
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

namespace ms::engine {

class PrefixCache {
public:
    // Manages blocks first_block .. first_block + n_blocks - 1 of the model's KV store.
    explicit PrefixCache(int32_t n_blocks, int32_t first_block = 0);

    // Hash of a full block given its predecessor's hash (0 for the first block).
    static uint64_t chain_hash(uint64_t parent, std::span<const int32_t> block_tokens);
    // The chain hashes of every full block of `tokens`, in order.
    static std::vector<uint64_t> block_hashes(std::span<const int32_t> tokens, int32_t block_size);

    // Takes a reference to the longest run of cached blocks matching these block hashes.
    std::vector<int32_t> acquire_prefix(std::span<const uint64_t> block_hashes);
    // A fresh block (free, or the least recently used cached one); -1 when none is left.
    int32_t allocate();
    // Names a block whose KV is now complete, so later requests can find it.
    void publish(int32_t block, uint64_t hash);
    void release(int32_t block);

    int32_t n_total() const { return int32_t(blocks_.size()); }
    int32_t n_used() const { return n_used_; }                 // referenced
    int32_t n_cached() const { return int32_t(lru_.size()); }  // unreferenced, named

private:
    struct Block {
        int32_t refs = 0;
        bool named = false;
        uint64_t hash = 0;
        std::list<int32_t>::iterator lru_pos;
    };
    void forget_name(int32_t index);
    Block& block_at(int32_t block);  // by block id

    int32_t first_block_ = 0;
    std::vector<Block> blocks_;  // by block id - first_block_, as are the indices below
    std::vector<int32_t> free_;  // unnamed, unreferenced
    std::list<int32_t> lru_;     // named, unreferenced; front = least recent
    std::unordered_map<uint64_t, int32_t> by_hash_;
    int32_t n_used_ = 0;
};

}  // namespace ms::engine
