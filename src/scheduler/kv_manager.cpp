#include "scheduler/kv_manager.h"

#include <algorithm>

namespace ms::scheduler {

KvManager::KvManager(const KvManagerConfig& config)
    : block_size_(config.identity.block_size),
      prefix_caching_(config.prefix_caching),
      seed_(chain_seed(config.identity)),
      identity_(config.identity),
      pool_(config.n_blocks, config.first_block) {
    if (block_size_ <= 0) throw std::invalid_argument("kv manager: block size must be positive");
}

int32_t KvManager::blocks_for(int64_t n_tokens) const {
    return int32_t((n_tokens + block_size_ - 1) / block_size_);
}

std::span<const BlockId> KvManager::blocks(uint64_t request) const {
    const auto it = tables_.find(request);
    if (it == tables_.end()) return {};
    return it->second.blocks;
}

int32_t KvManager::match_prefix(uint64_t request, std::span<const int32_t> tokens) {
    if (!prefix_caching_ || tokens.empty()) return 0;
    Table& t = table(request);
    if (!t.blocks.empty()) return 0;
    const size_t reusable = (tokens.size() - 1) / size_t(block_size_) * size_t(block_size_);
    extend_block_hashes(seed_, tokens.first(reusable), block_size_, t.hashes);
    for (BlockHash hash : t.hashes) {
        const BlockId block = pool_.acquire_cached(hash);
        if (block < 0) break;
        t.blocks.push_back(block);
    }
    t.hashes.resize(t.blocks.size());
    return int32_t(t.blocks.size()) * block_size_;
}

bool KvManager::allocate_slots(uint64_t request, int32_t n_tokens, std::vector<BlockId>* added) {
    Table& t = table(request);
    const int32_t missing = blocks_for(n_tokens) - int32_t(t.blocks.size());
    if (missing <= 0) return true;
    if (missing > pool_.n_allocatable()) return false;
    for (int32_t i = 0; i < missing; ++i) {
        t.blocks.push_back(pool_.allocate());
        if (added) added->push_back(t.blocks.back());
    }
    return true;
}

void KvManager::commit(uint64_t request, std::span<const int32_t> tokens, int32_t computed) {
    if (!prefix_caching_) return;
    Table& t = table(request);
    const size_t named_before = t.hashes.size();
    const auto full = std::min(size_t(computed) / size_t(block_size_), t.blocks.size());
    extend_block_hashes(seed_, tokens.first(full * size_t(block_size_)), block_size_, t.hashes);
    for (size_t b = named_before; b < t.hashes.size(); ++b) pool_.publish(t.blocks[b], t.hashes[b]);
}

void KvManager::free(uint64_t request) {
    const auto it = tables_.find(request);
    if (it == tables_.end()) return;
    // Last block first: the LRU then evicts a prefix from its end, keeping its start findable.
    const auto& blocks = it->second.blocks;
    for (auto b = blocks.rbegin(); b != blocks.rend(); ++b) pool_.release(*b);
    tables_.erase(it);
}

}  // namespace ms::scheduler
