// Micro-batch pipelining: slices hold whole sequences, the pipelined chain gives the bits of the
// whole batch with units that finish late (as a unit in another worker does), slices really
// overlap, and a failing unit leaves no begun unit behind.
#include "executor/micro_batch.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>

#include "executor/chain_executor.h"
#include "kernels/thread_pool.h"
#include "model/model.h"

namespace ms::executor {
namespace {

using model::Activations;
using model::Batch;
using model::kMaxMicroBatches;
using model::Model;
using model::StepContext;
using model::Unit;

const std::string kModel = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";

// Sequence s gets `lengths[s]` tokens at positions 0.., each with logits when `logits` says so.
struct TestBatch {
    std::vector<std::vector<int32_t>> tables;
    Batch batch;

    TestBatch(const std::vector<int>& lengths, bool last_logits_only, int32_t first_block = 0) {
        for (size_t s = 0; s < lengths.size(); ++s)
            tables.push_back({first_block + int32_t(s * 2), first_block + int32_t(s * 2 + 1)});
        for (const auto& t : tables) batch.block_tables.emplace_back(t);
        // Tokens of the sequences interleaved, as a scheduler mixing prefill and decode puts them.
        const int longest = *std::max_element(lengths.begin(), lengths.end());
        for (int p = 0; p < longest; ++p)
            for (size_t s = 0; s < lengths.size(); ++s)
                if (p < lengths[s])
                    batch.add(int32_t(1 + (7 * p + 31 * int(s)) % 500), p, int32_t(s),
                              !last_logits_only || p == lengths[s] - 1);
    }
};

TEST(MicroBatch, SlicesHoldWholeSequencesWithAboutEqualTokens) {
    const TestBatch b({6, 1, 1, 2, 2}, false);
    const auto slices = split_into_micro_batches(b.batch, 2);
    ASSERT_EQ(slices.size(), 2u);
    std::vector<std::vector<int32_t>> seqs(2);
    for (size_t j = 0; j < 2; ++j)
        for (int32_t s : slices[j].batch.seq)
            if (seqs[j].empty() || seqs[j].back() != s) seqs[j].push_back(s);
    // Six of twelve tokens fill the first slice.
    EXPECT_EQ(slices[0].batch.size(), 6);
    EXPECT_EQ(slices[1].batch.size(), 6);
    for (int32_t s : slices[0].batch.seq) EXPECT_EQ(s, 0);
    // Every token is in one slice, which knows its index in the batch.
    std::vector<int64_t> rows;
    for (const auto& m : slices) {
        EXPECT_EQ(m.batch.block_tables.size(), 5u);
        for (size_t k = 0; k < m.batch_row.size(); ++k) {
            rows.push_back(m.batch_row[k]);
            EXPECT_EQ(m.batch.tokens[k], b.batch.tokens[size_t(m.batch_row[k])]);
        }
    }
    std::sort(rows.begin(), rows.end());
    std::vector<int64_t> all(12);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(rows, all);
}

TEST(MicroBatch, EverySliceGetsASequenceAndNoMoreSlicesThanSequences) {
    const TestBatch b({20, 1, 1}, true);
    const auto three = split_into_micro_batches(b.batch, 3);
    ASSERT_EQ(three.size(), 3u);
    for (const auto& m : three) EXPECT_GT(m.batch.size(), 0);
    EXPECT_EQ(split_into_micro_batches(b.batch, 8).size(), 3u);
    const TestBatch one({5}, true);
    EXPECT_EQ(split_into_micro_batches(one.batch, 2).size(), 1u);
}

// Runs the wrapped unit's work only at end(), as a unit in another worker answers late, counts
// how many micro-batches are begun at once and logs "begin blk.0.ffn 1"-style events.
class LateUnit final : public Unit {
public:
    LateUnit(std::unique_ptr<Unit> inner, int& in_flight, int& most_in_flight,
             std::vector<std::string>& events)
        : inner_(std::move(inner)),
          in_flight_(in_flight),
          most_in_flight_(most_in_flight),
          events_(events) {}
    std::string name() const override { return inner_->name(); }
    void forward(const StepContext& ctx, Activations& x) override { inner_->forward(ctx, x); }
    // Like a worker, it runs one request at a time; DP groups call it from several threads.
    bool begin(const StepContext& ctx, Activations&, int micro_batch) override {
        std::lock_guard lock(worker_);
        pending_[micro_batch] = &ctx.batch;
        events_.push_back("begin " + name() + " " + std::to_string(micro_batch));
        most_in_flight_ = std::max(most_in_flight_, ++in_flight_);
        begun_.notify_all();
        if (fail_on_begin_ == micro_batch) throw std::runtime_error("boom");
        return true;
    }
    void end(Activations& x, int micro_batch) override {
        std::unique_lock lock(worker_);
        // A worker busy long enough for the other requests to arrive.
        begun_.wait_for(lock, std::chrono::seconds(5),
                        [&] { return most_in_flight_ >= answer_when_in_flight_; });
        --in_flight_;
        events_.push_back("end " + name() + " " + std::to_string(micro_batch));
        inner_->forward({*pending_[micro_batch], nullptr}, x);
    }
    int fail_on_begin_ = -1;
    int answer_when_in_flight_ = 0;  // once this many were begun at once

private:
    static inline std::mutex worker_;
    static inline std::condition_variable begun_;
    std::unique_ptr<Unit> inner_;
    const Batch* pending_[kMaxMicroBatches] = {};
    int& in_flight_;
    int& most_in_flight_;
    std::vector<std::string>& events_;
};

class Pipelined : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = Model::load(kModel);
        model_->reserve_kv(16, 16);
        chain_ = std::make_unique<ChainExecutor>(*model_);
    }
    // Every FFN unit answers late.
    std::vector<LateUnit*> make_ffns_late() {
        std::vector<LateUnit*> late;
        for (size_t i = 0; i < model_->units().size(); ++i) {
            if (!model_->units()[i]->name().ends_with(".ffn")) continue;
            auto unit = std::make_unique<LateUnit>(model_->replace_unit(i, nullptr), in_flight_,
                                                   most_in_flight_, events_);
            late.push_back(unit.get());
            model_->replace_unit(i, std::move(unit));
        }
        return late;
    }
    std::unique_ptr<Model> model_;
    std::unique_ptr<ChainExecutor> chain_;
    int in_flight_ = 0;
    int most_in_flight_ = 0;
    std::vector<std::string> events_;
};

TEST_F(Pipelined, GivesTheLogitsOfTheWholeBatch) {
    const TestBatch b({9, 1, 4, 1}, false);
    ThreadPool pool(1);
    Activations whole;
    model_->forward(b.batch, &pool, whole);
    make_ffns_late();
    chain_->set_micro_batches(2);
    Activations pipelined;
    chain_->forward(b.batch, &pool, pipelined);
    EXPECT_EQ(pipelined.rows, whole.rows);
    EXPECT_EQ(pipelined.cols, whole.cols);
    EXPECT_EQ(pipelined.data, whole.data);
    EXPECT_EQ(most_in_flight_, 2);  // both slices were in the FFN at once
    const PipelineCounters& c = chain_->pipeline_counters();
    EXPECT_EQ(c.steps.load(), 1u);
    EXPECT_EQ(c.micro_batches.load(), 2u);
    EXPECT_GE(c.step_nanoseconds.load(), c.bubble_nanoseconds.load());
}

// Ping-pong: a slice back from a worker runs its local units and is sent on before the front end
// waits for the other slice, so the worker always has the next slice queued.
TEST_F(Pipelined, ASliceGoesOnToItsNextRemoteUnitBeforeTheOtherSliceIsAwaited) {
    const TestBatch b({2, 2}, true);
    make_ffns_late();
    chain_->set_micro_batches(2);
    ThreadPool pool(1);
    Activations logits;
    chain_->forward(b.batch, &pool, logits);
    const std::vector<std::string> first{"begin blk.0.ffn 0", "begin blk.0.ffn 1",
                                         "end blk.0.ffn 0",   "begin blk.1.ffn 0",
                                         "end blk.0.ffn 1",   "begin blk.1.ffn 1"};
    ASSERT_GE(events_.size(), first.size());
    EXPECT_EQ(std::vector<std::string>(events_.begin(), events_.begin() + 6), first);
}

TEST_F(Pipelined, AFailingUnitEndsEveryBegunUnitFirst) {
    const TestBatch b({3, 3}, true);
    const auto late = make_ffns_late();
    late[1]->fail_on_begin_ = 1;  // the second slice fails while the first is in the unit
    chain_->set_micro_batches(2);
    ThreadPool pool(1);
    Activations logits;
    EXPECT_THROW(chain_->forward(b.batch, &pool, logits), std::runtime_error);
    EXPECT_EQ(in_flight_, 1);  // only the failed begin, never ended; slice 0 was ended
}

// Two DP groups step at once on threads of their own, taking turns as the engine's groups do: both
// groups' tokens are in the FFN at once, and each group gets the logits it gets alone (the head,
// computed in slices that yield the turn, gives the same bits).
TEST_F(Pipelined, DataParallelGroupsOverlapAndKeepTheirLogits) {
    const TestBatch first({5, 1, 3}, false);
    const TestBatch second({2, 7}, true, 8);
    ThreadPool pool_a(1), pool_b(1);
    Activations alone_first, alone_second;
    model_->forward(first.batch, &pool_a, alone_first);
    model_->forward(second.batch, &pool_a, alone_second);
    make_ffns_late()[0]->answer_when_in_flight_ = 2;
    chain_->set_dp_groups(2);
    Activations got_first, got_second;
    std::thread group_1([&] { chain_->forward(second.batch, &pool_b, got_second, 1); });
    chain_->forward(first.batch, &pool_a, got_first, 0);
    group_1.join();
    EXPECT_EQ(got_first.data, alone_first.data);
    EXPECT_EQ(got_second.data, alone_second.data);
    EXPECT_EQ(most_in_flight_, 2);  // one slice of each group in the FFN at once
    EXPECT_EQ(chain_->pipeline_counters().steps.load(), 2u);
    EXPECT_THROW(chain_->forward(first.batch, &pool_a, got_first, 2), std::invalid_argument);
}

TEST(MicroBatch, ACountOutsideThePipelineIsRefused) {
    auto model = Model::load(kModel);
    ChainExecutor chain(*model);
    EXPECT_THROW(chain.set_micro_batches(0), std::invalid_argument);
    EXPECT_THROW(chain.set_micro_batches(kMaxMicroBatches + 1), std::invalid_argument);
    chain.set_micro_batches(4);
    EXPECT_THROW(chain.set_dp_groups(3), std::invalid_argument);  // 12 lanes
    EXPECT_THROW(chain.set_dp_groups(0), std::invalid_argument);
    chain.set_dp_groups(2);
    EXPECT_THROW(chain.set_micro_batches(5), std::invalid_argument);
}

}  // namespace
}  // namespace ms::executor
