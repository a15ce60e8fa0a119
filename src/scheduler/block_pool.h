// The KV block pool: fixed-size blocks handed out from a free list, reference counted, and named
// by a hash chained over every token before and in them, so requests with the same prefix share
// blocks. A block nobody references keeps its name (stays findable) until it is the least
// recently used such block and a new block is needed. Blocks are ids first_block ..
// first_block + n_blocks - 1 of a KV store the pool does not see.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace ms::scheduler {

using BlockId = int32_t;
using BlockHash = uint64_t;

// What the KV bytes of a block depend on besides its tokens: blocks of another model, block
// size or KV type never match, as their chain starts from another seed.
struct KvIdentity {
    std::string model;  // e.g. the GGUF file's name and tensor count
    int32_t block_size = 16;
    std::string dtype = "f32";
};
BlockHash chain_seed(const KvIdentity& id);
BlockHash chain_hash(BlockHash parent, std::span<const int32_t> block_tokens);
// Appends to `hashes` the chain hashes of the full blocks of `tokens` it does not hold yet.
void extend_block_hashes(BlockHash seed, std::span<const int32_t> tokens, int32_t block_size,
                         std::vector<BlockHash>& hashes);

// A block became findable under a hash (Stored) or stopped being (Removed): the KV events a
// cache-aware router or a KV pool subscribes to.
struct KvEvent {
    enum class Kind { Stored, Removed } kind;
    BlockHash hash;
    BlockId block;
};
using KvEventHook = std::function<void(const KvEvent&)>;

class BlockPool {
public:
    explicit BlockPool(int32_t n_blocks, BlockId first_block = 0);

    // The block named `hash`, now referenced once more; -1 if no block has that name.
    BlockId acquire_cached(BlockHash hash);
    // A fresh block (free, or the least recently used cached one, whose name is dropped);
    // -1 when none is left.
    BlockId allocate();
    // Names a referenced block whose KV is complete. False (and nothing changes) when another
    // block has the name already or this one is named.
    bool publish(BlockId block, BlockHash hash);
    void release(BlockId block);  // throws std::logic_error if it is not referenced

    int32_t n_total() const { return n_total_; }
    int32_t n_used() const { return n_used_; }      // referenced
    int32_t n_cached() const { return n_cached_; }  // unreferenced, named
    int32_t n_allocatable() const { return n_total_ - n_used_; }
    BlockId first_block() const { return first_block_; }
    void set_event_hook(KvEventHook hook) { hook_ = std::move(hook); }

private:
    static constexpr int32_t kNone = -1;
    struct Block {
        int32_t refs = 0;
        bool named = false;
        BlockHash hash = 0;
        int32_t lru_prev = kNone, lru_next = kNone;  // among cached blocks
    };
    Block& at(BlockId block);
    void lru_push_back(int32_t index);
    void lru_unlink(int32_t index);
    void forget_name(int32_t index);

    BlockId first_block_;
    int32_t n_total_;
    // Blocks are made on first use, so a pool sized for a supernode's simulation costs nothing
    // until its blocks are needed.
    std::vector<Block> blocks_;  // by block id - first_block_, as are the indices below
    std::vector<int32_t> free_;  // made, unnamed, unreferenced
    int32_t lru_head_ = kNone, lru_tail_ = kNone;  // head = least recently used
    std::unordered_map<BlockHash, int32_t> by_hash_;
    int32_t n_used_ = 0, n_cached_ = 0;
    KvEventHook hook_;
};

}  // namespace ms::scheduler
