#include "scheduler/block_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace ms::scheduler {
namespace {

std::vector<BlockHash> chain(const std::vector<int32_t>& tokens, int32_t block_size,
                             BlockHash seed = 0) {
    std::vector<BlockHash> hashes;
    extend_block_hashes(seed, tokens, block_size, hashes);
    return hashes;
}

// A fresh block for each hash, named by it.
std::vector<BlockId> publish_all(BlockPool& pool, const std::vector<BlockHash>& hashes) {
    std::vector<BlockId> blocks;
    for (BlockHash h : hashes) {
        blocks.push_back(pool.allocate());
        EXPECT_TRUE(pool.publish(blocks.back(), h));
    }
    return blocks;
}

TEST(BlockPool, HandsOutDistinctBlocksUntilEmpty) {
    BlockPool pool(3);
    std::set<BlockId> got{pool.allocate(), pool.allocate(), pool.allocate()};
    EXPECT_EQ(got.size(), 3u);
    EXPECT_EQ(pool.allocate(), -1);
    EXPECT_EQ(pool.n_used(), 3);
    EXPECT_EQ(pool.n_allocatable(), 0);
}

TEST(BlockPool, HashesDependOnTheWholePrefixAndTheSeed) {
    const auto a = chain({1, 2, 3, 4}, 2), b = chain({9, 9, 3, 4}, 2);
    EXPECT_NE(a[0], b[0]);
    EXPECT_NE(a[1], b[1]);                      // same tokens in block 1, different history
    EXPECT_EQ(chain({1, 2, 3}, 2).size(), 1u);  // only full blocks
    const KvIdentity model{"m", 2, "f32"};
    const BlockHash seed = chain_seed(model);
    EXPECT_NE(chain({1, 2}, 2, seed), chain({1, 2}, 2, 0));
    for (KvIdentity other :
         {KvIdentity{"n", 2, "f32"}, KvIdentity{"m", 4, "f32"}, KvIdentity{"m", 2, "f16"}})
        EXPECT_NE(chain_seed(other), seed) << other.model << other.block_size << other.dtype;
}

TEST(BlockPool, PublishedBlocksAreFoundAndShared) {
    BlockPool pool(4);
    const auto hashes = chain({1, 2, 3, 4, 5, 6}, 2);
    const std::vector<BlockId> blocks = publish_all(pool, hashes);
    EXPECT_EQ(pool.acquire_cached(hashes[0]), blocks[0]);
    EXPECT_EQ(pool.acquire_cached(777), -1);
    EXPECT_EQ(pool.n_used(), 3);  // a shared block counts once
    const BlockId twin = pool.allocate();
    EXPECT_FALSE(pool.publish(twin, hashes[1]));  // the name is taken: the twin stays unnamed
    pool.release(twin);
    EXPECT_EQ(pool.n_cached(), 0);
}

TEST(BlockPool, UnreferencedBlocksStayCachedUntilEvictedLeastRecentFirst) {
    BlockPool pool(3);
    const auto hashes = chain({1, 2, 3, 4, 5, 6}, 2);
    const std::vector<BlockId> blocks = publish_all(pool, hashes);
    for (BlockId b : {blocks[1], blocks[0], blocks[2]}) pool.release(b);  // LRU order: 1, 0, 2
    EXPECT_EQ(pool.n_cached(), 3);
    EXPECT_EQ(pool.n_used(), 0);
    EXPECT_EQ(pool.acquire_cached(hashes[0]), blocks[0]);  // leaves the LRU
    pool.release(blocks[0]);                               // back at its end: 1, 2, 0
    EXPECT_EQ(pool.allocate(), blocks[1]);
    EXPECT_EQ(pool.allocate(), blocks[2]);
    EXPECT_EQ(pool.acquire_cached(hashes[1]), -1);  // evicted names are gone
    EXPECT_EQ(pool.acquire_cached(hashes[0]), blocks[0]);
}

TEST(BlockPool, ReportsBlocksStoredAndRemoved) {
    BlockPool pool(1);
    std::vector<std::pair<KvEvent::Kind, BlockHash>> events;
    pool.set_event_hook([&](const KvEvent& e) { events.emplace_back(e.kind, e.hash); });
    const BlockId b = pool.allocate();
    pool.publish(b, 5);
    pool.release(b);
    pool.allocate();  // evicts 5
    using K = KvEvent::Kind;
    EXPECT_EQ(events, (std::vector<std::pair<K, BlockHash>>{{K::Stored, 5}, {K::Removed, 5}}));
}

TEST(BlockPool, MisuseIsAnError) {
    BlockPool pool(1);
    const BlockId b = pool.allocate();
    pool.release(b);
    EXPECT_THROW(pool.release(b), std::logic_error);
    EXPECT_THROW(pool.publish(b, 1), std::logic_error);
}

// A DP group's pool hands out only its own range of the model's KV blocks.
TEST(BlockPool, HandsOutBlocksOfItsOwnRange) {
    BlockPool pool(3, 10);
    std::vector<BlockId> got;
    for (int i = 0; i < 3; ++i) got.push_back(pool.allocate());
    EXPECT_EQ(pool.allocate(), -1);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<BlockId>{10, 11, 12}));
    EXPECT_THROW(pool.release(3), std::out_of_range);  // another group's block
}

}  // namespace
}  // namespace ms::scheduler
