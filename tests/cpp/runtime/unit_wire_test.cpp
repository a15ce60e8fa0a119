#include "runtime/unit_wire.h"

#include <gtest/gtest.h>

namespace ms::runtime {
namespace {

struct TwoSequenceBatch {
    std::vector<int32_t> table0{4, 5};
    std::vector<int32_t> table1{9};
    model::Batch batch;
    TwoSequenceBatch() {
        batch.block_tables = {table0, table1};
        batch.block_size = 8;
        batch.add(11, 0, 0, false);
        batch.add(12, 9, 0, true);
        batch.add(13, 3, 1, true);
    }
};

model::Activations sample_activations() {
    model::Activations x;
    x.resize(3, 2);
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = float(i) * 0.5f - 1.0f;
    return x;
}

TEST(UnitWire, ForwardRequestCarriesTheBatchAndActivations) {
    TwoSequenceBatch b;
    const auto x = sample_activations();
    const UnitRequest r = decode_request(encode_forward("blk.2.ffn", 3, b.batch, x));
    EXPECT_EQ(r.op, UnitOp::forward);
    EXPECT_EQ(r.unit, "blk.2.ffn");
    EXPECT_EQ(r.micro_batch, 3u);
    EXPECT_EQ(r.batch.batch.tokens, b.batch.tokens);
    EXPECT_EQ(r.batch.batch.pos, b.batch.pos);
    EXPECT_EQ(r.batch.batch.seq, b.batch.seq);
    EXPECT_EQ(r.batch.batch.want_logits, b.batch.want_logits);
    EXPECT_EQ(r.batch.batch.block_size, 8);
    ASSERT_EQ(r.batch.batch.block_tables.size(), 2u);
    EXPECT_EQ(std::vector<int32_t>(r.batch.batch.block_tables[0].begin(),
                                   r.batch.batch.block_tables[0].end()),
              b.table0);
    EXPECT_EQ(r.x.rows, 3);
    EXPECT_EQ(r.x.cols, 2);
    EXPECT_EQ(r.x.data, x.data);
}

TEST(UnitWire, StopRequest) {
    EXPECT_EQ(decode_request(encode_stop()).op, UnitOp::stop);
}

TEST(UnitWire, ServeExpertsRequestNamesTheExchange) {
    const UnitRequest r = decode_request(encode_serve_experts({7, 1, 3}));
    EXPECT_EQ(r.op, UnitOp::serve_experts);
    EXPECT_EQ(r.exchange.step, 7u);
    EXPECT_EQ(r.exchange.micro_batch, 1u);
    EXPECT_EQ(r.exchange.layer, 3u);
    const auto full = encode_serve_experts({7, 1, 3});
    EXPECT_THROW(decode_request(std::span<const std::byte>(full.data(), full.size() - 1)),
                 std::runtime_error);
}

TEST(UnitWire, PlaceExpertsRequestCarriesEveryExpertsRanks) {
    const transport::ExpertPlacement placement({{1}, {1, 3}, {2}, {3}});
    const UnitRequest r = decode_request(encode_place_experts(4, placement));
    EXPECT_EQ(r.op, UnitOp::place_experts);
    EXPECT_EQ(r.exchange.layer, 4u);
    EXPECT_EQ(r.placement, (std::vector<std::vector<int32_t>>{{1}, {1, 3}, {2}, {3}}));
    const auto full = encode_place_experts(4, placement);
    for (size_t cut = 0; cut < full.size(); ++cut)
        EXPECT_THROW(decode_request(std::span<const std::byte>(full.data(), cut)),
                     std::runtime_error)
            << "cut at " << cut;
    // One expert that no rank holds: op, layer, one expert, an empty rank list.
    transport::Bytes homeless(4 + 4 + 8 + 8, std::byte{0});
    homeless[0] = std::byte{uint8_t(UnitOp::place_experts)};
    homeless[8] = std::byte{1};
    EXPECT_THROW(decode_request(homeless), std::runtime_error);
}

TEST(UnitWire, ReplyRoundTripsAndErrorsCarryTheWorkersMessage) {
    const auto x = sample_activations();
    model::Activations out;
    decode_reply(encode_reply(x), out);
    EXPECT_EQ(out.rows, 3);
    EXPECT_EQ(out.data, x.data);
    try {
        decode_reply(encode_error_reply("blk.2.ffn failed: boom"), out);
        FAIL() << "an error reply must throw";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "blk.2.ffn failed: boom");
    }
}

TEST(UnitWire, AMicroBatchBeyondThePipelineIsRefused) {
    TwoSequenceBatch b;
    const auto bytes =
        encode_forward("blk.0.ffn", model::kMaxMicroBatches, b.batch, sample_activations());
    EXPECT_THROW(decode_request(bytes), std::runtime_error);
}

TEST(UnitWire, MalformedMessagesAreClearErrorsAtEveryCut) {
    TwoSequenceBatch b;
    const auto full = encode_forward("blk.0.ffn", 0, b.batch, sample_activations());
    for (size_t cut = 0; cut < full.size(); ++cut) {
        const std::span<const std::byte> prefix(full.data(), cut);
        EXPECT_THROW(decode_request(prefix), std::runtime_error) << "cut at " << cut;
    }
    auto trailing = full;
    trailing.push_back(std::byte{0});
    EXPECT_THROW(decode_request(trailing), std::runtime_error);
    auto unknown_op = encode_stop();
    unknown_op[0] = std::byte{7};
    EXPECT_THROW(decode_request(unknown_op), std::runtime_error);
}

TEST(UnitWire, ActivationsWhoseShapeDisagreesWithTheirValuesAreRefused) {
    auto x = sample_activations();
    x.rows = 4;  // 4 x 2 claimed, 6 values carried
    model::Activations out;
    EXPECT_THROW(decode_reply(encode_reply(x), out), std::runtime_error);
}

}  // namespace
}  // namespace ms::runtime
