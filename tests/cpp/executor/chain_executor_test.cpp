// The chain executor: the plain chain's bits whether timed or not, one timed call per unit and
// step (per slice for the units slices run on their own), and no timing unless asked.
#include "executor/chain_executor.h"

#include <gtest/gtest.h>

#include "kernels/thread_pool.h"

namespace ms::executor {
namespace {

const std::string kModel = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";

// Two sequences of three tokens at positions 0..2, each wanting its last token's logits.
struct TwoSequences {
    std::vector<int32_t> tables[2] = {{0}, {1}};
    model::Batch batch;
    TwoSequences() {
        for (const auto& t : tables) batch.block_tables.emplace_back(t);
        for (int32_t s = 0; s < 2; ++s)
            for (int32_t p = 0; p < 3; ++p) batch.add(5 + 11 * p + 3 * s, p, s, p == 2);
    }
};

class Chain : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = model::Model::load(kModel);
        model_->reserve_kv(4, 16);
        chain_ = std::make_unique<ChainExecutor>(*model_);
    }
    std::unique_ptr<model::Model> model_;
    std::unique_ptr<ChainExecutor> chain_;
    TwoSequences b_;
    ThreadPool pool_{1};
};

TEST_F(Chain, RunsThePlainChainUntimedByDefault) {
    model::Activations plain, got;
    model_->forward(b_.batch, &pool_, plain);
    chain_->forward(b_.batch, &pool_, got);
    EXPECT_EQ(got.data, plain.data);
    EXPECT_TRUE(chain_->unit_times().empty());
    EXPECT_EQ(chain_->pipeline_counters().steps.load(), 0u);
}

TEST_F(Chain, TimesEachUnitOncePerStep) {
    model::Activations plain, got;
    model_->forward(b_.batch, &pool_, plain);
    chain_->time_units();
    chain_->forward(b_.batch, &pool_, got);
    EXPECT_EQ(got.data, plain.data);
    const auto times = chain_->unit_times();
    ASSERT_EQ(times.size(), model_->units().size());
    for (const UnitTime& t : times) EXPECT_EQ(t.calls, 1u);
}

TEST_F(Chain, TimesEachSliceOfAMicroBatchedStep) {
    model::Activations plain, got;
    model_->forward(b_.batch, &pool_, plain);
    chain_->time_units();
    chain_->set_micro_batches(2);
    chain_->forward(b_.batch, &pool_, got);
    EXPECT_EQ(got.data, plain.data);
    const auto times = chain_->unit_times();
    ASSERT_EQ(times.size(), model_->units().size());
    for (size_t i = 0; i + 1 < times.size(); ++i) EXPECT_EQ(times[i].calls, 2u) << i;
    EXPECT_EQ(times.back().calls, 1u);  // the head runs once on both slices' rows
    EXPECT_EQ(chain_->pipeline_counters().micro_batches.load(), 2u);
}

}  // namespace
}  // namespace ms::executor
