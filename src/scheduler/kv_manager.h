// The KV manager: each request's block table over one BlockPool. It matches a new request's
// longest cached prefix, grows tables as tokens are scheduled, names blocks once their KV is
// written, frees tables, and moves a request's KV out of and into a KvStore as bytes (the
// prefill/decode hand-over and the KV pool's offload use these).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "scheduler/block_pool.h"
#include "scheduler/kv_store.h"

namespace ms::scheduler {

struct KvManagerConfig {
    int32_t n_blocks = 0;
    BlockId first_block = 0;
    KvIdentity identity;
    bool prefix_caching = true;
};

// Imported bytes that do not fit this manager: another shape, type, block size, model, or
// hashes that do not follow from the tokens. The message says which.
class KvImportError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

class KvManager {
public:
    explicit KvManager(const KvManagerConfig& config);

    // For a request holding no blocks: references the longest run of cached blocks that
    // prefixes `tokens`, never covering the last token (its logits are needed). Returns the
    // number of tokens they cover (0 without prefix caching).
    int32_t match_prefix(uint64_t request, std::span<const int32_t> tokens);
    // Grows the request's table to cover n_tokens, appending the new ids to `added` if given.
    // False, with nothing allocated, when the pool has too few blocks.
    bool allocate_slots(uint64_t request, int32_t n_tokens, std::vector<BlockId>* added = nullptr);
    // Names the request's full blocks among its first `computed` tokens, whose KV is written.
    void commit(uint64_t request, std::span<const int32_t> tokens, int32_t computed);
    void free(uint64_t request);  // unknown requests are ignored

    std::span<const BlockId> blocks(uint64_t request) const;
    int32_t blocks_for(int64_t n_tokens) const;
    int32_t block_size() const { return block_size_; }
    int32_t n_allocatable() const { return pool_.n_allocatable(); }
    const BlockPool& pool() const { return pool_; }
    void set_event_hook(KvEventHook hook) { pool_.set_event_hook(std::move(hook)); }

    // The KV of the request's first n_tokens `tokens`, layer after layer (each layer's blocks
    // back to back), behind a header naming the identity, shape and chain hashes.
    std::vector<std::byte> export_kv(uint64_t request, std::span<const int32_t> tokens,
                                     int32_t n_tokens, const KvStore& store) const;
    // Gives a request holding no blocks the KV of exported bytes; returns the tokens whose KV
    // it now holds, in `tokens`. Throws KvImportError when the bytes do not fit; std::
    // length_error when the pool has too few blocks. Nothing is kept on failure.
    int32_t import_kv(uint64_t request, std::span<const std::byte> bytes, KvStore& store,
                      std::vector<int32_t>& tokens);

private:
    struct Table {
        std::vector<BlockId> blocks;
        std::vector<BlockHash> hashes;  // of the leading full blocks that are named
    };
    Table& table(uint64_t request) { return tables_[request]; }

    int32_t block_size_;
    bool prefix_caching_;
    BlockHash seed_;
    KvIdentity identity_;
    BlockPool pool_;
    std::unordered_map<uint64_t, Table> tables_;
};

}  // namespace ms::scheduler
