#include "engine/prefix_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace {

using ms::engine::PrefixCache;

std::vector<uint64_t> chain(const std::vector<int32_t>& tokens, size_t block) {
    std::vector<uint64_t> hashes;
    uint64_t parent = 0;
    for (size_t b = 0; b + block <= tokens.size(); b += block)
        hashes.push_back(parent = PrefixCache::chain_hash(parent, {tokens.data() + b, block}));
    return hashes;
}

TEST(PrefixCache, HandsOutDistinctBlocksUntilEmpty) {
    PrefixCache cache(3);
    std::set<int32_t> got{cache.allocate(), cache.allocate(), cache.allocate()};
    EXPECT_EQ(got.size(), 3u);
    EXPECT_EQ(cache.allocate(), -1);
    EXPECT_EQ(cache.n_used(), 3);
}

TEST(PrefixCache, HashesDependOnTheWholePrefix) {
    const auto a = chain({1, 2, 3, 4}, 2), b = chain({9, 9, 3, 4}, 2);
    EXPECT_NE(a[0], b[0]);
    EXPECT_NE(a[1], b[1]);  // same tokens in block 1, different history
}

TEST(PrefixCache, PublishedBlocksAreFoundAndShared) {
    PrefixCache cache(4);
    const auto hashes = chain({1, 2, 3, 4, 5, 6}, 2);
    std::vector<int32_t> blocks;
    for (uint64_t h : hashes) {
        blocks.push_back(cache.allocate());
        cache.publish(blocks.back(), h);
    }
    const auto shared = cache.acquire_prefix(std::vector<uint64_t>{hashes[0], hashes[1], 777});
    EXPECT_EQ(shared, (std::vector<int32_t>{blocks[0], blocks[1]}));
    EXPECT_EQ(cache.n_used(), 3);  // shared blocks count once
}

TEST(PrefixCache, UnreferencedBlocksStayCachedUntilEvictedLeastRecentFirst) {
    PrefixCache cache(2);
    const auto hashes = chain({1, 2, 3, 4}, 2);
    const int32_t first = cache.allocate(), second = cache.allocate();
    cache.publish(first, hashes[0]);
    cache.publish(second, hashes[1]);
    cache.release(first);
    cache.release(second);
    EXPECT_EQ(cache.n_cached(), 2);
    EXPECT_EQ(cache.n_used(), 0);
    EXPECT_EQ(cache.allocate(), first);  // least recently released goes first
    // The first block was evicted, so the chain breaks there even though block 2 is cached.
    EXPECT_TRUE(cache.acquire_prefix(hashes).empty());
    EXPECT_EQ(cache.n_cached(), 1);
}

TEST(PrefixCache, ReleasingTwiceIsAnError) {
    PrefixCache cache(1);
    const int32_t b = cache.allocate();
    cache.release(b);
    EXPECT_THROW(cache.release(b), std::logic_error);
}

}  // namespace

namespace {

using ms::engine::PrefixCache;

// A DP group's cache hands out only its own range of the model's KV blocks.
TEST(PrefixCache, HandsOutBlocksOfItsOwnRange) {
    PrefixCache cache(3, 10);
    std::vector<int32_t> got;
    for (int i = 0; i < 3; ++i) got.push_back(cache.allocate());
    EXPECT_EQ(cache.allocate(), -1);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<int32_t>{10, 11, 12}));
    cache.publish(11, 77);
    cache.release(11);
    EXPECT_EQ(cache.acquire_prefix(std::vector<uint64_t>{77}), std::vector<int32_t>{11});
    EXPECT_THROW(cache.release(3), std::out_of_range);  // another group's block
}

}  // namespace
