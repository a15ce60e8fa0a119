#include "transport/expert_exchange.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "transport/exchange_wire.h"
#include "transport_test_util.h"

namespace ms::transport {
namespace {

using testing::unique_table;

constexpr int64_t kDim = 24;
constexpr int kTopK = 2;
constexpr int kExperts = 4;

// Expert e multiplies a row by its own fixed matrix; each row is computed on its own, so the
// result does not depend on which other rows share the call.
void reference_expert(int expert, std::span<const float> rows, int64_t n_rows,
                      std::span<float> out) {
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t o = 0; o < kDim; ++o) {
            float sum = 0.0f;
            for (int64_t i = 0; i < kDim; ++i)
                sum += std::sin(float(expert * 131 + o * 17 + i)) * rows[size_t(r * kDim + i)];
            out[size_t(r * kDim + o)] = sum;
        }
}

struct Batch {
    std::vector<float> hidden;
    std::vector<ExpertRoute> routes;
};

Batch make_batch(int64_t n_tokens, int seed) {
    Batch batch;
    for (int64_t i = 0; i < n_tokens * kDim; ++i)
        batch.hidden.push_back(std::cos(float(seed * 1000 + i) * 0.37f) * float(1 + i % 5));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int first = int((t * 7 + seed) % kExperts);
        batch.routes.push_back({first, 0.6f + 0.01f * float(t % 9)});
        batch.routes.push_back({(first + 1 + int(t % 3)) % kExperts, 0.3f});
    }
    return batch;
}

// The colocated computation the exchange must reproduce exactly: routes summed in order.
std::vector<float> reference_combine(const Batch& batch) {
    const size_t n_tokens = batch.routes.size() / kTopK;
    std::vector<float> out(n_tokens * kDim, 0.0f), y(kDim);
    for (size_t t = 0; t < n_tokens; ++t)
        for (int j = 0; j < kTopK; ++j) {
            const ExpertRoute route = batch.routes[t * kTopK + size_t(j)];
            reference_expert(route.expert, std::span(batch.hidden).subspan(t * kDim, kDim), 1, y);
            for (int64_t i = 0; i < kDim; ++i)
                out[t * kDim + size_t(i)] += route.weight * y[size_t(i)];
        }
    return out;
}

// Ranks 0 and 1 run attention; ranks 2 and 3 hold the experts, experts 1 and 3 on both.
ExpertPlacement split_placement() {
    return ExpertPlacement({{2}, {2, 3}, {3}, {3, 2}});
}

struct Outcome {
    std::vector<float> out[2];
    Batch batches[2];
};

Outcome run_split(const std::string& scheme, ExchangeOptions options, int steps = 3) {
    const PeerTable table = unique_table(scheme, 4);
    std::vector<std::unique_ptr<Transport>> ranks;
    for (int r = 0; r < 4; ++r) ranks.push_back(make_transport(table, r));
    Outcome outcome;
    std::vector<std::thread> threads;
    const std::vector<int> attention = {0, 1};
    for (int r = 0; r < 4; ++r)
        threads.emplace_back([&, r] {
            ExpertExchange exchange(*ranks[size_t(r)], split_placement(), kDim, options);
            for (uint32_t step = 0; step < uint32_t(steps); ++step) {
                const ExchangeId id{step, 0, 5};
                if (r >= 2) {
                    exchange.serve(id, attention, reference_expert);
                    continue;
                }
                Batch batch = make_batch(9 + r * 4, int(step) * 2 + r);
                std::vector<float> out(batch.hidden.size());
                exchange.dispatch(id, batch.hidden, batch.routes, kTopK);
                exchange.combine(id, out);
                outcome.out[r] = std::move(out);
                outcome.batches[r] = std::move(batch);
            }
        });
    for (auto& thread : threads) thread.join();
    return outcome;
}

class ExpertExchangeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExpertExchangeTest, MatchesTheLocalComputationExactly) {
    const Outcome outcome = run_split(GetParam(), {});
    for (int r = 0; r < 2; ++r) {
        ASSERT_FALSE(outcome.out[r].empty());
        EXPECT_EQ(outcome.out[r], reference_combine(outcome.batches[r])) << "attention rank " << r;
    }
}

TEST_P(ExpertExchangeTest, Int8InTransitStaysClose) {
    const Outcome outcome = run_split(GetParam(), {.int8_activations = true});
    for (int r = 0; r < 2; ++r) {
        const std::vector<float> reference = reference_combine(outcome.batches[r]);
        float max_error = 0.0f, max_value = 0.0f;
        for (size_t i = 0; i < reference.size(); ++i) {
            max_error = std::max(max_error, std::fabs(outcome.out[r][i] - reference[i]));
            max_value = std::max(max_value, std::fabs(reference[i]));
        }
        const float relative = max_error / max_value;
        std::printf(
            "int8 in transit, attention rank %d: max error %.3g of max |value| %.3g (%.3f%%)\n", r,
            max_error, max_value, 100.0 * relative);
        EXPECT_GT(max_error, 0.0f);  // the rows really were quantised
        EXPECT_LT(relative, 0.02f);  // two int8 hops: each within half a step of 1/127
    }
}

TEST_P(ExpertExchangeTest, ColocatedRankServesItsOwnTokens) {
    // Rank 0 runs attention and holds experts 0 and 1; rank 1 holds the others.
    const PeerTable table = unique_table(GetParam(), 2);
    auto rank0 = make_transport(table, 0);
    auto rank1 = make_transport(table, 1);
    const ExpertPlacement placement({{0}, {0}, {1}, {1}});
    const std::vector<int> attention = {0};
    std::thread expert_rank([&] {
        ExpertExchange exchange(*rank1, placement, kDim);
        exchange.serve({1, 0, 0}, attention, reference_expert);
    });
    ExpertExchange exchange(*rank0, placement, kDim);
    const Batch batch = make_batch(6, 3);
    std::vector<float> out(batch.hidden.size());
    exchange.dispatch({1, 0, 0}, batch.hidden, batch.routes, kTopK);
    exchange.serve({1, 0, 0}, attention, reference_expert);
    exchange.combine({1, 0, 0}, out);
    expert_rank.join();
    EXPECT_EQ(out, reference_combine(batch));
}

TEST_P(ExpertExchangeTest, MicroBatchesOverlap) {
    // Two micro-batches dispatched before either is served; combined in the other order.
    const PeerTable table = unique_table(GetParam(), 2);
    auto rank0 = make_transport(table, 0);
    auto rank1 = make_transport(table, 1);
    const ExpertPlacement placement({{1}, {1}, {1}, {1}});
    const std::vector<int> attention = {0};
    ExpertExchange attention_side(*rank0, placement, kDim);
    const Batch batches[2] = {make_batch(4, 1), make_batch(7, 2)};
    for (uint32_t mb = 0; mb < 2; ++mb)
        attention_side.dispatch({3, mb, 1}, batches[mb].hidden, batches[mb].routes, kTopK);
    std::thread expert_rank([&] {
        ExpertExchange exchange(*rank1, placement, kDim);
        for (uint32_t mb = 0; mb < 2; ++mb) exchange.serve({3, mb, 1}, attention, reference_expert);
    });
    for (uint32_t mb : {1u, 0u}) {
        std::vector<float> out(batches[mb].hidden.size());
        attention_side.combine({3, mb, 1}, out);
        EXPECT_EQ(out, reference_combine(batches[mb])) << "micro-batch " << mb;
    }
    expert_rank.join();
}

INSTANTIATE_TEST_SUITE_P(Schemes, ExpertExchangeTest, ::testing::Values("inproc", "shm"));

TEST(ExpertExchange, ExpertProcessServesOverSharedMemory) {
    const PeerTable table = unique_table("shm", 2);
    const ExpertPlacement placement({{1}, {1}, {1}, {1}});
    const std::vector<int> attention = {0};
    const pid_t child = fork();
    if (child == 0) {
        int status = 0;
        try {
            auto transport = make_transport(table, 1);
            ExpertExchange exchange(*transport, placement, kDim);
            for (uint32_t step = 0; step < 4; ++step)
                exchange.serve({step, 0, 0}, attention, reference_expert);
        } catch (...) {
            status = 1;
        }
        _exit(status);
    }
    auto transport = make_transport(table, 0);
    ExpertExchange exchange(*transport, placement, kDim);
    for (uint32_t step = 0; step < 4; ++step) {
        const Batch batch = make_batch(5 + step * 3, int(step));
        std::vector<float> out(batch.hidden.size());
        exchange.dispatch({step, 0, 0}, batch.hidden, batch.routes, kTopK);
        exchange.combine({step, 0, 0}, out);
        EXPECT_EQ(out, reference_combine(batch)) << "step " << step;
    }
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(ExpertExchange, RejectsMismatchedShapesAndUnknownExperts) {
    const PeerTable table = unique_table("inproc", 1);
    auto transport = make_transport(table, 0);
    ExpertExchange exchange(*transport, ExpertPlacement({{0}, {0}}), kDim);
    const Batch batch = make_batch(2, 0);
    std::vector<float> short_hidden(kDim);
    EXPECT_THROW(exchange.dispatch({0, 0, 0}, short_hidden, batch.routes, kTopK), TransportError);
    std::vector<ExpertRoute> unknown = {{7, 1.0f}};
    EXPECT_THROW(exchange.dispatch({0, 0, 0}, short_hidden, unknown, 1), TransportError);
    std::vector<float> out(kDim);
    EXPECT_THROW(exchange.combine({9, 0, 0}, out), TransportError);
    EXPECT_THROW(
        ExpertExchange(*transport, ExpertPlacement(std::vector<std::vector<int>>{{3}}), kDim),
        TransportError);
}

// An expert rank that cannot serve an exchange refuses it: the attention rank's combine fails at
// once with the reason (it used to wait out the exchange timeout).
TEST(ExpertExchange, ARefusedExchangeFailsTheCombineAtOnce) {
    const PeerTable table = unique_table("inproc", 2);
    auto attention = make_transport(table, 0);
    auto expert = make_transport(table, 1);
    ExchangeOptions options;
    options.timeout = Milliseconds{60'000};
    ExpertExchange exchange(*attention, ExpertPlacement({{1}, {1}, {1}, {1}}), kDim, options);
    const Batch batch = make_batch(3, 1);
    const ExchangeId id{4, 1, 2};
    exchange.dispatch(id, batch.hidden, batch.routes, kTopK);
    refuse_exchange(*expert, id, 0, "this worker serves no experts of layer 2");
    std::vector<float> out(batch.hidden.size());
    const auto start = std::chrono::steady_clock::now();
    try {
        exchange.combine(id, out);
        FAIL() << "the combine did not fail";
    } catch (const ExchangeRefused& e) {
        EXPECT_STREQ(e.what(), "this worker serves no experts of layer 2");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ExpertPlacement, SpreadsTokensOverCopiesDeterministically) {
    const ExpertPlacement placement({{0}, {1, 2, 3}});
    std::vector<int> tokens_per_rank(4, 0);
    for (int64_t t = 0; t < 300; ++t) {
        const int rank = placement.rank_for(1, 0, t);
        EXPECT_EQ(rank, placement.rank_for(1, 0, t));
        tokens_per_rank[size_t(rank)]++;
    }
    EXPECT_EQ(tokens_per_rank[0], 0);
    for (int r = 1; r < 4; ++r) EXPECT_GT(tokens_per_rank[size_t(r)], 60) << "rank " << r;
    EXPECT_EQ(placement.expert_ranks(), (std::vector<int>{0, 1, 2, 3}));
    EXPECT_THROW(ExpertPlacement(std::vector<std::vector<int>>{{}}), TransportError);
    EXPECT_THROW(ExpertPlacement({{1, 1}}), TransportError);
}

TEST(ExchangeWire, Int8RowsAreWithinHalfAStep) {
    const std::vector<float> rows = {0.5f, -2.0f, 1.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const std::vector<RowPair> pairs = {{1, 3}, {0, 2}};
    const ExchangeMessage message =
        decode_exchange(encode_exchange(RowFormat::int8, 4, rows, pairs), 4);
    ASSERT_EQ(message.n_rows, 2);
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(message.rows[i], rows[i], 2.0f / 127 / 2);
    for (size_t i = 4; i < 8; ++i) EXPECT_EQ(message.rows[i], 0.0f);  // an all-zero row stays zero
    EXPECT_EQ(message.pairs[0].expert, 3);
    EXPECT_EQ(message.pairs[1].row, 0u);
}

TEST(ExchangeWire, RejectsMalformedMessages) {
    const std::vector<float> rows(8, 1.0f);
    const std::vector<RowPair> pairs = {{1, 0}};
    Bytes good = encode_exchange(RowFormat::float32, 4, rows, pairs);
    EXPECT_NO_THROW(decode_exchange(good, 4));
    EXPECT_THROW(decode_exchange(good, 5), TransportError);  // another hidden size
    Bytes truncated(good.begin(), good.end() - 1);
    EXPECT_THROW(decode_exchange(truncated, 4), TransportError);
    Bytes bad_row = encode_exchange(RowFormat::float32, 4, rows, std::vector<RowPair>{{2, 0}});
    EXPECT_THROW(decode_exchange(bad_row, 4), TransportError);
    EXPECT_THROW(decode_exchange(Bytes(3), 4), TransportError);
    EXPECT_THROW(decode_exchange(encode_exchange_failure("no experts here"), 4), ExchangeRefused);
    EXPECT_THROW(decode_exchange(encode_exchange_failure(""), 4), ExchangeRefused);
}

}  // namespace
}  // namespace ms::transport
