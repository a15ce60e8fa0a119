// Which DP group to send a request to, by prompt prefix: each group has its own prefix cache, so
// a request whose prompt starts like an earlier one's (a chat's next turn, a shared system
// prompt) reuses most KV in the group that served that one. The router remembers the block
// hashes of the prompts it routed (a bounded, least recently used set; it never looks into the
// groups' caches, which may since have evicted them, so it is a hint) and answers with the group
// of the longest remembered prefix. Safe from any thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

namespace ms::engine {

class PrefixRouter {
public:
    explicit PrefixRouter(size_t capacity) : capacity_(capacity) {}

    // The group that was sent the longest prefix of these chained block hashes (scheduler::
    // extend_block_hashes), and how many blocks of it; nullopt when no first block is known.
    std::optional<std::pair<int, size_t>> longest_prefix(std::span<const uint64_t> block_hashes);
    // The blocks now live in `group` (a later request sent elsewhere moves them).
    void remember(std::span<const uint64_t> block_hashes, int group);

private:
    using Lru = std::list<uint64_t>;  // front: least recently used
    struct Entry {
        int group;
        Lru::iterator lru_pos;
    };

    size_t capacity_;
    std::mutex mutex_;
    Lru lru_;
    std::unordered_map<uint64_t, Entry> groups_;  // by block hash
};

}  // namespace ms::engine
