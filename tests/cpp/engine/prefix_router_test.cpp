#include "engine/prefix_router.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using ms::engine::PrefixRouter;

TEST(PrefixRouter, FindsTheGroupOfTheLongestRememberedPrefix) {
    PrefixRouter router(100);
    EXPECT_FALSE(router.longest_prefix(std::vector<uint64_t>{1, 2, 3}).has_value());
    router.remember(std::vector<uint64_t>{1, 2}, 0);
    router.remember(std::vector<uint64_t>{1, 2, 3, 4}, 1);  // the longer one moved to group 1
    router.remember(std::vector<uint64_t>{9}, 0);
    const auto found = router.longest_prefix(std::vector<uint64_t>{1, 2, 3, 5});
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->first, 1);
    EXPECT_EQ(found->second, 3u);
    EXPECT_EQ(router.longest_prefix(std::vector<uint64_t>{9, 10})->first, 0);
    EXPECT_FALSE(router.longest_prefix(std::vector<uint64_t>{}).has_value());
}

TEST(PrefixRouter, ForgetsTheLeastRecentlyUsedBlocksBeyondItsCapacity) {
    PrefixRouter router(2);
    router.remember(std::vector<uint64_t>{1}, 0);
    router.remember(std::vector<uint64_t>{2}, 1);
    EXPECT_TRUE(router.longest_prefix(std::vector<uint64_t>{1}).has_value());  // 1 is used again
    router.remember(std::vector<uint64_t>{3}, 1);                              // evicts 2
    EXPECT_FALSE(router.longest_prefix(std::vector<uint64_t>{2}).has_value());
    EXPECT_TRUE(router.longest_prefix(std::vector<uint64_t>{1}).has_value());
    EXPECT_TRUE(router.longest_prefix(std::vector<uint64_t>{3}).has_value());
}

}  // namespace
