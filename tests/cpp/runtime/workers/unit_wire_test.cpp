#include "runtime/workers/unit_wire.h"

#include <gtest/gtest.h>

#include <cmath>

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

// Rows of 96 values below 1 with one massive channel (17), as in a Llama residual stream.
model::Activations wide_activations() {
    model::Activations x;
    x.resize(4, 96);
    for (size_t i = 0; i < x.data.size(); ++i)
        x.data[i] = i % 96 == 17 ? 600.0f : std::sin(float(i) * 0.37f) * 0.9f;
    return x;
}

TEST(UnitWire, ForwardRequestCarriesTheBatchAndActivations) {
    TwoSequenceBatch b;
    const auto x = sample_activations();
    const UnitRequest r =
        decode_request(encode_forward("blk.2.ffn", 3, b.batch, x, transport::RowFormat::float32));
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
    EXPECT_EQ(r.format, transport::RowFormat::float32);
}

TEST(UnitWire, Int8ForwardCarriesQuantisedActivationsWithMassiveChannelsExact) {
    TwoSequenceBatch b;
    const auto x = wide_activations();
    const UnitRequest r =
        decode_request(encode_forward("blk.2.attn", 1, b.batch, x, transport::RowFormat::int8));
    EXPECT_EQ(r.format, transport::RowFormat::int8);
    ASSERT_EQ(r.x.rows, x.rows);
    ASSERT_EQ(r.x.cols, x.cols);
    EXPECT_NE(r.x.data, x.data);
    for (size_t i = 0; i < x.data.size(); ++i)
        if (i % size_t(x.cols) == 17)
            EXPECT_EQ(r.x.data[i], x.data[i]);
        else  // half a step of a block whose largest other value is below 1
            EXPECT_NEAR(r.x.data[i], x.data[i], 1.0f / 254.0f) << i;
}

TEST(UnitWire, Int8ReplyCarriesTheUnitsDeltaWhichTheFrontEndAddsToItsExactActivations) {
    const auto exact = wide_activations();
    TwoSequenceBatch b;
    const auto received =
        decode_request(encode_forward("blk.2.ffn", 0, b.batch, exact, transport::RowFormat::int8))
            .x;
    model::Activations y = received;
    for (size_t i = 0; i < y.data.size(); ++i) y.data[i] += 0.01f * float(i % 7);
    model::Activations x = exact;
    decode_reply(encode_delta_reply(y, received.data), x);
    for (size_t i = 0; i < x.data.size(); ++i)  // delta blocks reach 0.06: a step of 0.06 / 127
        EXPECT_NEAR(x.data[i], exact.data[i] + 0.01f * float(i % 7), 0.06f / 254.0f * 1.01f) << i;

    model::Activations other_shape;
    other_shape.resize(1, exact.cols);
    EXPECT_THROW(decode_reply(encode_delta_reply(y, received.data), other_shape),
                 std::runtime_error);
    y.resize(1, exact.cols);
    EXPECT_THROW(encode_delta_reply(y, received.data), std::runtime_error);
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
    const auto bytes = encode_forward("blk.0.ffn", model::kMaxMicroBatches, b.batch,
                                      sample_activations(), transport::RowFormat::float32);
    EXPECT_THROW(decode_request(bytes), std::runtime_error);
}

TEST(UnitWire, MalformedMessagesAreClearErrorsAtEveryCut) {
    TwoSequenceBatch b;
    for (const auto format : {transport::RowFormat::float32, transport::RowFormat::int8}) {
        const auto full = encode_forward("blk.0.ffn", 0, b.batch, wide_activations(), format);
        for (size_t cut = 0; cut < full.size(); ++cut) {
            const std::span<const std::byte> prefix(full.data(), cut);
            EXPECT_THROW(decode_request(prefix), std::runtime_error) << "cut at " << cut;
        }
    }
    const auto full = encode_forward("blk.0.ffn", 0, b.batch, sample_activations(),
                                     transport::RowFormat::float32);
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
