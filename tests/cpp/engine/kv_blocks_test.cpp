#include "engine/kv_blocks.h"

#include <gtest/gtest.h>

#include <set>

namespace {

using ms::engine::BlockPool;
using ms::engine::BlockTable;

TEST(KvBlocks, TablesGrowByWholeBlocksAndReturnThem) {
    BlockPool pool(4);
    BlockTable a, b;
    ASSERT_TRUE(a.reserve(pool, 17, 16));  // 2 blocks
    EXPECT_EQ(a.blocks().size(), 2u);
    ASSERT_TRUE(a.reserve(pool, 32, 16));  // still 2
    EXPECT_EQ(pool.n_free(), 2);
    ASSERT_TRUE(b.reserve(pool, 20, 16));
    std::set<int32_t> all(a.blocks().begin(), a.blocks().end());
    all.insert(b.blocks().begin(), b.blocks().end());
    EXPECT_EQ(all.size(), 4u);  // no block handed out twice
    EXPECT_FALSE(b.reserve(pool, 40, 16));  // pool exhausted: unchanged
    EXPECT_EQ(b.blocks().size(), 2u);
    a.release(pool);
    EXPECT_EQ(pool.n_free(), 2);
    EXPECT_TRUE(b.reserve(pool, 40, 16));
}

TEST(KvBlocks, ReleasingAForeignBlockThrows) {
    BlockPool pool(2);
    EXPECT_THROW(pool.release(5), std::out_of_range);
}

}  // namespace
