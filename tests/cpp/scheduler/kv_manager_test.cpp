#include "scheduler/kv_manager.h"

#include <gtest/gtest.h>

#include <numeric>

#include "host_kv_store.h"

namespace ms::scheduler {
namespace {

KvManagerConfig config(int32_t n_blocks, int32_t block_size = 4, std::string dtype = "f32",
                       std::string model = "tiny") {
    return {.n_blocks = n_blocks, .identity = {std::move(model), block_size, std::move(dtype)}};
}

std::vector<int32_t> range(int32_t from, int32_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), from);
    return v;
}

// Runs a request's prompt "through the model": blocks for all of it, all of it computed.
void prefill(KvManager& kv, uint64_t id, const std::vector<int32_t>& tokens) {
    kv.match_prefix(id, tokens);
    ASSERT_TRUE(kv.allocate_slots(id, int32_t(tokens.size())));
    kv.commit(id, tokens, int32_t(tokens.size()));
}

TEST(KvManager, MatchesTheLongestCachedPrefixButNeverTheLastToken) {
    KvManager kv(config(16));
    const auto shared = range(0, 12);
    prefill(kv, 1, shared);
    auto longer = shared;
    longer.insert(longer.end(), {50, 51, 52});
    EXPECT_EQ(kv.match_prefix(2, longer), 12);  // three full blocks
    EXPECT_EQ(kv.blocks(2).size(), 3u);
    EXPECT_TRUE(std::equal(kv.blocks(2).begin(), kv.blocks(2).end(), kv.blocks(1).begin()));
    EXPECT_EQ(kv.match_prefix(3, shared), 8);  // the last block holds the last token
    auto forked = shared;
    forked[5] = 99;
    EXPECT_EQ(kv.match_prefix(4, forked), 4);  // the chain breaks at the changed block
}

TEST(KvManager, AllocatesAllOrNothing) {
    KvManager kv(config(3));
    EXPECT_TRUE(kv.allocate_slots(1, 8));  // two blocks
    std::vector<BlockId> added;
    EXPECT_FALSE(kv.allocate_slots(2, 9, &added));  // three more: only one left
    EXPECT_TRUE(added.empty());
    EXPECT_EQ(kv.n_allocatable(), 1);
    EXPECT_TRUE(kv.allocate_slots(1, 12, &added));
    EXPECT_EQ(added.size(), 1u);
    kv.free(1);
    EXPECT_EQ(kv.n_allocatable(), 3);
}

TEST(KvManager, EvictsTheLeastRecentlyFreedPrefixFirst) {
    KvManager kv(config(4));
    const auto a = range(0, 8), b = range(100, 8);
    prefill(kv, 1, a);
    prefill(kv, 2, b);
    kv.free(1);
    kv.free(2);
    EXPECT_EQ(kv.pool().n_cached(), 4);
    ASSERT_TRUE(kv.allocate_slots(3, 8));  // takes a's two blocks
    EXPECT_EQ(kv.match_prefix(4, range(0, 9)), 0);
    EXPECT_EQ(kv.match_prefix(5, range(100, 9)), 8);
}

TEST(KvManager, WithoutPrefixCachingNothingIsShared) {
    auto c = config(8);
    c.prefix_caching = false;
    KvManager kv(c);
    prefill(kv, 1, range(0, 8));
    EXPECT_EQ(kv.match_prefix(2, range(0, 9)), 0);
    EXPECT_EQ(kv.pool().n_cached(), 0);
}

struct Exported {
    std::vector<std::byte> bytes;
    std::vector<int32_t> tokens = range(7, 10);  // two full blocks and half of one
};

Exported export_prefilled(const KvManagerConfig& c, const HostKvStore& store) {
    KvManager kv(c);
    Exported e;
    kv.allocate_slots(9, 30);  // the request's blocks are not the first ones
    prefill(kv, 1, e.tokens);
    e.bytes = kv.export_kv(1, e.tokens, int32_t(e.tokens.size()), store);
    return e;
}

TEST(KvManager, ExportThenImportIsBitExact) {
    HostKvStore source({64, 48}, 16), target({64, 48}, 16);
    source.fill(1);
    target.fill(2);
    KvManager src(config(16));
    const auto tokens = range(7, 10);
    src.allocate_slots(9, 30);
    prefill(src, 1, tokens);
    const auto bytes = src.export_kv(1, tokens, 10, source);

    KvManager dst(config(16));
    std::vector<int32_t> got;
    EXPECT_EQ(dst.import_kv(5, bytes, target, got), 10);
    EXPECT_EQ(got, tokens);
    ASSERT_EQ(dst.blocks(5).size(), 3u);
    for (int32_t layer = 0; layer < 2; ++layer)
        for (size_t b = 0; b < 3; ++b) {
            const auto from = source.block_bytes(layer, src.blocks(1)[b]);
            const auto to = target.block_bytes(layer, dst.blocks(5)[b]);
            EXPECT_TRUE(std::equal(from.begin(), from.end(), to.begin(), to.end()))
                << "layer " << layer << " block " << b;
        }
    auto longer = tokens;
    longer.push_back(1);
    EXPECT_EQ(dst.match_prefix(6, longer), 8);  // imported full blocks are findable
}

void expect_refused(KvManager& kv, const std::vector<std::byte>& bytes, KvStore& store,
                    const std::string& says) {
    const int32_t free_before = kv.n_allocatable();
    std::vector<int32_t> tokens;
    try {
        kv.import_kv(1, bytes, store, tokens);
        ADD_FAILURE() << "imported; expected an error saying " << says;
    } catch (const KvImportError& e) {
        EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
    EXPECT_EQ(kv.n_allocatable(), free_before);
    EXPECT_TRUE(kv.blocks(1).empty());
}

TEST(KvManager, ImportRefusesKvThatDoesNotFit) {
    HostKvStore store({64, 48}, 16);
    const auto good = export_prefilled(config(16), store).bytes;
    KvManager other_block(config(16, 8)), other_dtype(config(16, 4, "f16")),
        other_model(config(16, 4, "f32", "huge")), same(config(16));
    expect_refused(other_block, good, store, "block size is 4, this instance has 8");
    expect_refused(other_dtype, good, store, "dtype is 'f32', this instance has 'f16'");
    expect_refused(other_model, good, store, "another model");
    HostKvStore one_layer({64}, 16), wider({64, 96}, 16);
    expect_refused(same, good, one_layer, "number of KV layers is 2, this instance has 1");
    expect_refused(same, good, wider, "layer 1's bytes per block is 48, this instance has 96");
    auto tampered = good;
    const size_t first_token = good.size() - (64 + 48) * 3 - 2 * 8 - 10 * 4;
    tampered[first_token + 4 * 5] ^= std::byte{1};  // token 5: block 1 no longer matches
    expect_refused(same, tampered, store, "chain hash of block 1");
    expect_refused(same, {good.begin(), good.end() - 1}, store, "end inside the KV bytes");
    auto longer = good;
    longer.push_back(std::byte{0});
    expect_refused(same, longer, store, "bytes left");
    expect_refused(same, std::vector<std::byte>(3), store, "end inside the header");
}

}  // namespace
}  // namespace ms::scheduler
