#include "scheduler/policy.h"

#include <gtest/gtest.h>

namespace ms::scheduler {
namespace {

SequenceState prompt(uint32_t id, int32_t tokens, int32_t done = 0) {
    return {id, tokens, done, 16};
}
SequenceState decoding(uint32_t id) {
    return {id, 10, 10, 16};
}

TEST(ContinuousBatching, DecodesFirstThenChunksPromptsWithinBudget) {
    const auto policy = make_continuous_batching();
    const std::vector<SequenceState> running = {prompt(1, 100, 40), decoding(2), decoding(3)};
    const std::vector<SequenceState> waiting = {prompt(4, 50)};
    StepPlan plan;
    policy->plan_step(running, waiting,
                      {.token_budget = 30, .max_running = 8, .decode_tokens_per_seq = 2}, plan);
    EXPECT_EQ(plan.tokens, (std::vector<int32_t>{26, 2, 2}));  // the chunk takes what is left
    EXPECT_EQ(plan.admitted(), 0);
    EXPECT_EQ(plan.total_tokens, 30);
}

TEST(ContinuousBatching, AdmitsInArrivalOrderUpToRunningAndKvLimits) {
    const auto policy = make_continuous_batching();
    const std::vector<SequenceState> running = {decoding(1)};
    const std::vector<SequenceState> waiting = {prompt(2, 20), prompt(3, 20), prompt(4, 20)};
    StepPlan plan;
    policy->plan_step(running, waiting, {.token_budget = 1000, .max_running = 3}, plan);
    EXPECT_EQ(plan.admitted_tokens, (std::vector<int32_t>{20, 20}));  // max_running = 3
    // KV reservations: running 10 + 16, each new one 20 + 16.
    policy->plan_step(running, waiting,
                      {.token_budget = 1000, .max_running = 8, .kv_capacity_tokens = 26 + 36},
                      plan);
    EXPECT_EQ(plan.admitted(), 1);
}

}  // namespace
}  // namespace ms::scheduler
