#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <numeric>

namespace ms::scheduler {
namespace {

constexpr int32_t kBlock = 4;

struct Fixture {
    KvManager kv;
    Scheduler scheduler;
    std::map<uint64_t, int32_t> new_tokens_left;
    Fixture(int32_t n_blocks, SchedulerConfig config)
        : kv({.n_blocks = n_blocks, .identity = {"tiny", kBlock, "f32"}}), scheduler(config, kv) {}

    void add(uint64_t id, int32_t prompt, int32_t priority = 0, int32_t max_new = 8) {
        std::vector<int32_t> tokens(static_cast<size_t>(prompt));
        std::iota(tokens.begin(), tokens.end(), int32_t(id) * 1000);
        scheduler.add(
            {.id = id, .tokens = tokens, .max_new_tokens = max_new, .priority = priority});
        new_tokens_left[id] = max_new;
    }
    // Executes a plan as the engine would: KV written, one token sampled where wanted, the
    // sequence finished at its max_new_tokens.
    StepPlan step() {
        StepPlan plan = scheduler.schedule();
        for (const auto& s : plan.sequences) {
            scheduler.computed(s.id, s.n_tokens);
            if (!s.samples) continue;
            scheduler.append(s.id, 7);
            if (--new_tokens_left[s.id] == 0) scheduler.finish(s.id);
        }
        return plan;
    }
};

std::vector<std::pair<uint64_t, int32_t>> tokens_of(const StepPlan& plan) {
    std::vector<std::pair<uint64_t, int32_t>> out;
    for (const auto& s : plan.sequences) out.emplace_back(s.id, s.n_tokens);
    return out;
}
using Tokens = std::vector<std::pair<uint64_t, int32_t>>;

TEST(Scheduler, DecodesFirstThenChunksPromptsWithinTheBudget) {
    Fixture f(64, {.token_budget = 10, .max_running = 8});
    f.add(1, 3);
    f.add(2, 3);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 3}, {2, 3}}));
    f.add(3, 20);
    const StepPlan plan = f.step();
    EXPECT_EQ(tokens_of(plan), (Tokens{{1, 1}, {2, 1}, {3, 8}}));  // the chunk takes the rest
    EXPECT_EQ(plan.total_tokens, 10);
    EXPECT_FALSE(plan.sequences[2].samples);
    EXPECT_TRUE(plan.sequences[2].prefill);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 1}, {2, 1}, {3, 8}}));
    const StepPlan last = f.step();
    EXPECT_EQ(tokens_of(last), (Tokens{{1, 1}, {2, 1}, {3, 4}}));
    EXPECT_TRUE(last.sequences[2].samples);
    EXPECT_FALSE(f.step().sequences[2].prefill);  // now it decodes
}

TEST(Scheduler, WithoutChunkingAPromptWaitsUntilItFitsWhole) {
    Fixture f(64, {.token_budget = 10, .max_running = 8, .chunked_prefill = false});
    f.add(1, 4);
    f.add(2, 8);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 4}}));  // 2 would need 8 of the 6 left
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 1}, {2, 8}}));
    f.add(3, 30);  // longer than any budget: runs in chunks once nothing else is planned
    f.scheduler.finish(1);
    f.scheduler.finish(2);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{3, 10}}));
}

TEST(Scheduler, AdmitsWithinTheRunningLimitAndTheKvBlocks) {
    Fixture f(6, {.token_budget = 100, .max_running = 2});
    f.add(1, 8);
    f.add(2, 8);
    f.add(3, 8);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 8}, {2, 8}}));  // the running limit
    f.scheduler.finish(1);
    const StepPlan plan = f.step();
    EXPECT_EQ(plan.finished, std::vector<uint64_t>{1});
    EXPECT_EQ(tokens_of(plan), (Tokens{{2, 1}, {3, 8}}));
    EXPECT_EQ(plan.sequences[1].new_blocks.size(), 2u);
}

TEST(Scheduler, ReservingNewTokensAdmitsFewerAndNeverPreempts) {
    Fixture f(6, {.token_budget = 100, .max_running = 8, .reserve_new_tokens = true});
    f.add(1, 8, 0, 8);  // 16 tokens: four blocks set aside
    f.add(2, 4, 0, 4);  // 8 tokens: two blocks
    f.add(3, 1, 0, 1);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 8}, {2, 4}}));
    for (int i = 0; i < 12; ++i) EXPECT_TRUE(f.step().preempted.empty());
    EXPECT_EQ(f.scheduler.n_running() + f.scheduler.n_waiting(), 0);  // all ran to the end
}

TEST(Scheduler, PreemptsTheNewestWhenBlocksRunOutAndRecomputesItLater) {
    Fixture f(4, {.token_budget = 100, .max_running = 8});
    std::vector<std::pair<uint64_t, int32_t>> swapped;
    f.scheduler.set_preempt_hook([&](uint64_t id, std::span<const BlockId> blocks, int32_t done) {
        EXPECT_EQ(blocks.size(), 2u);  // still held when the hook sees them
        swapped.emplace_back(id, done);
    });
    f.add(1, 8);
    f.add(2, 8);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{1, 8}, {2, 8}}));  // 2 + 2 blocks
    const StepPlan plan = f.step();  // both need a third block for their ninth token
    EXPECT_EQ(plan.preempted, std::vector<uint64_t>{2});
    EXPECT_EQ(swapped, (std::vector<std::pair<uint64_t, int32_t>>{{2, 8}}));
    EXPECT_EQ(tokens_of(plan), (Tokens{{1, 1}}));
    EXPECT_EQ(f.scheduler.n_waiting(), 1);
    f.scheduler.finish(1);
    const StepPlan again = f.step();
    // Recomputed, but its first block is found again: 1 took its last one, freed first.
    ASSERT_EQ(tokens_of(again), (Tokens{{2, 5}}));
    EXPECT_EQ(again.sequences[0].start, 4);
    EXPECT_EQ(again.sequences[0].cached_tokens, -1);  // counted once, on first admission
}

TEST(Scheduler, RejectsWhatCanNeverFit) {
    Fixture f(2, {.token_budget = 100, .max_running = 8});
    f.add(1, 9);  // three blocks
    f.add(2, 8);
    const StepPlan plan = f.step();
    EXPECT_EQ(plan.rejected, std::vector<uint64_t>{1});
    EXPECT_EQ(tokens_of(plan), (Tokens{{2, 8}}));
    const StepPlan grown = f.step();  // 2 needs a third block to decode: alone, it never will
    EXPECT_EQ(grown.rejected, std::vector<uint64_t>{2});
    EXPECT_FALSE(f.scheduler.contains(2));
    EXPECT_EQ(f.kv.n_allocatable(), 2);
}

TEST(Scheduler, PriorityOrdersAdmissionAndPreemption) {
    Fixture f(4, {.token_budget = 100, .max_running = 2, .policy = Policy::Priority});
    f.add(1, 8, 5);
    f.add(2, 8, 1);
    f.add(3, 8, 0);
    EXPECT_EQ(tokens_of(f.step()), (Tokens{{3, 8}, {2, 8}}));
    const StepPlan plan = f.step();
    EXPECT_EQ(plan.preempted, std::vector<uint64_t>{2});  // the lower priority goes first
    f.scheduler.finish(3);
    EXPECT_EQ(tokens_of(f.step())[0].first, 2u);  // ahead of 1, which arrived earlier
}

TEST(Scheduler, FcfsPutsPreemptedSequencesBackInFront) {
    Fixture f(4, {.token_budget = 100, .max_running = 2});
    f.add(1, 8);
    f.add(2, 8);
    f.add(3, 2);
    f.step();
    f.step();  // preempts 2
    f.scheduler.finish(1);
    EXPECT_EQ(tokens_of(f.step())[0].first, 2u);
}

TEST(Scheduler, KvThatArrivesWithASequenceGetsBlocksAndIsNotComputed) {
    Fixture f(8, {.token_budget = 100, .max_running = 8, .decode_tokens = 3});
    f.scheduler.add({.id = 1, .n_tokens = 11, .generated = 1, .max_new_tokens = 5, .kv_ready = 10});
    const StepPlan plan = f.scheduler.schedule();
    ASSERT_EQ(plan.sequences.size(), 1u);
    EXPECT_EQ(plan.sequences[0].start, 10);
    EXPECT_EQ(plan.sequences[0].n_tokens, 3);  // a decode with two drafts
    EXPECT_FALSE(plan.sequences[0].prefill);
    EXPECT_EQ(plan.sequences[0].new_blocks.size(), 4u);  // positions 0 .. 12
}

TEST(Scheduler, RefusesBadSequences) {
    Fixture f(8, {});
    EXPECT_THROW(f.scheduler.add({.id = 1}), std::invalid_argument);
    f.add(1, 3);
    EXPECT_THROW(f.add(1, 3), std::invalid_argument);
    EXPECT_THROW(f.scheduler.computed(1, 4), std::logic_error);  // it has three tokens
    EXPECT_THROW(f.scheduler.add({.id = 2, .n_tokens = 4, .kv_ready = 4}), std::invalid_argument);
    EXPECT_THROW((Scheduler({.token_budget = 0}, f.kv)), std::invalid_argument);
}

}  // namespace
}  // namespace ms::scheduler
