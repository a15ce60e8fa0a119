#include "engine/prefix_router.h"

namespace ms::engine {

std::optional<std::pair<int, size_t>> PrefixRouter::longest_prefix(
    std::span<const uint64_t> block_hashes) {
    std::lock_guard lock(mutex_);
    // Hashes are chained, so a known block implies its whole prefix was sent together once.
    for (size_t n = block_hashes.size(); n > 0; --n) {
        const auto it = groups_.find(block_hashes[n - 1]);
        if (it == groups_.end()) continue;
        lru_.splice(lru_.end(), lru_, it->second.lru_pos);
        return std::pair{it->second.group, n};
    }
    return std::nullopt;
}

void PrefixRouter::remember(std::span<const uint64_t> block_hashes, int group) {
    std::lock_guard lock(mutex_);
    for (uint64_t hash : block_hashes) {
        if (const auto it = groups_.find(hash); it != groups_.end()) {
            it->second.group = group;
            lru_.splice(lru_.end(), lru_, it->second.lru_pos);
            continue;
        }
        groups_.emplace(hash, Entry{group, lru_.insert(lru_.end(), hash)});
        if (groups_.size() > capacity_) {
            groups_.erase(lru_.front());
            lru_.pop_front();
        }
    }
}

}  // namespace ms::engine
