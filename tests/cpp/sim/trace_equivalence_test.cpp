// The simulator runs the serving engine's scheduler: fed the same request trace, the engine
// (with the tiny real model) and the simulator (with its cost model) make the same step plans,
// step by step: the same tokens of the same requests, the same KV blocks, prefix hits,
// preemptions and finishes.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "engine/engine.h"
#include "executor/chain_executor.h"
#include "scheduler/scheduler.h"
#include "sim/deployment.h"
#include "sim/simulator.h"
#include "tokenizer/vocab.h"

namespace ms {
namespace {

using scheduler::StepPlan;

const std::string kModel = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";

constexpr int32_t kBlocks = 8, kBudget = 24, kRunning = 4;

std::vector<int32_t> tokens(int32_t salt, int32_t n) {
    std::vector<int32_t> t;
    for (int32_t i = 0; i < n; ++i) t.push_back(3 + (i * 37 + salt * 101) % 500);
    return t;
}

std::vector<int32_t> join(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Shared prefixes (a system prompt, a repeated question), chunked prompts, and more KV wanted
// than the 8 blocks hold, so requests are preempted and recomputed.
std::vector<sim::TraceRequest> trace() {
    const auto system = tokens(1, 40);
    return {{0, join(system, tokens(2, 5)), 6},
            {1, join(system, tokens(3, 7)), 30},
            {1, tokens(4, 30), 8},
            {2, join(system, tokens(2, 5)), 4},
            {3, tokens(5, 60), 40},
            {4, join(system, tokens(6, 20)), 5},
            {5, join(tokens(4, 30), tokens(7, 9)), 7},
            {6, tokens(8, 18), 30},
            {8, join(system, tokens(3, 7)), 6},
            {9, tokens(9, 50), 3}};
}

// Plans as both sides can be compared: request ids as trace indices.
std::vector<StepPlan> as_trace_ids(std::vector<StepPlan> plans, uint64_t first_id) {
    for (StepPlan& p : plans) {
        for (auto& s : p.sequences) s.id -= first_id;
        for (auto* ids : {&p.preempted, &p.rejected, &p.finished})
            for (auto& id : *ids) id -= first_id;
    }
    return plans;
}

// The engine with the real model, each trace request submitted before the step it is due at.
std::vector<StepPlan> run_engine(const std::vector<sim::TraceRequest>& requests) {
    const auto model = model::Model::load(kModel);
    executor::ChainExecutor chain(*model);
    const auto vocab = tok::Vocab::from_gguf(model->file());
    std::mutex mutex;
    std::condition_variable done;
    size_t finished = 0, submitted = 0;
    std::vector<StepPlan> plans;
    engine::Engine* engine = nullptr;
    const auto submit_due = [&](int64_t step) {
        for (; submitted < requests.size() && requests[submitted].arrival_step <= step;
             ++submitted) {
            engine::GenerationRequest r;
            r.prompt = requests[submitted].prompt;
            r.max_tokens = requests[submitted].output;
            r.ignore_eos = true;
            engine::RequestCallbacks callbacks;
            callbacks.on_token = [](const engine::TokenEvent&) { return true; };
            callbacks.on_finish = [&](const engine::FinishEvent& e) {
                EXPECT_EQ(e.reason, engine::FinishReason::Length) << e.error;
                std::lock_guard lock(mutex);
                ++finished;
                done.notify_all();
            };
            ASSERT_EQ(engine->submit(std::move(r), std::move(callbacks)).status,
                      engine::SubmitStatus::Accepted);
        }
    };
    engine::Engine e(chain, *vocab,
                     {.threads = 1,
                      .n_ctx = 512,
                      .block_size = 16,
                      .kv_blocks = kBlocks,
                      .max_running = kRunning,
                      .step_token_budget = kBudget,
                      .on_plan = [&](const StepPlan& plan) {
                          plans.push_back(plan);
                          submit_due(int64_t(plans.size()));
                      }});
    engine = &e;
    submit_due(0);
    std::unique_lock lock(mutex);
    EXPECT_TRUE(
        done.wait_for(lock, std::chrono::seconds(60), [&] { return finished == requests.size(); }));
    return as_trace_ids(plans, 1);  // the engine numbers requests from 1
}

std::vector<StepPlan> run_simulator(const std::vector<sim::TraceRequest>& requests) {
    const sim::Deployment d = sim::parse_deployment(
        "name: trace\nhardware: host\nmodel: {gguf: " + kModel +
            "}\npools:\n  decode:\n    devices: 1\n    attention: {dp: 1}\n"
            "    batch_per_group: " +
            std::to_string(kRunning) + "\n    token_budget: " + std::to_string(kBudget) +
            "\nworkload: {requests: 1, input_tokens: 1, output_tokens: 1}\n",
        std::string(MS_SOURCE_DIR) + "/data/catalog");
    std::vector<StepPlan> plans;
    sim::SimOptions options{.scheduling = {.block_size = 16,
                                           .reserve_new_tokens = false,
                                           .prefix_caching = true,
                                           .kv_blocks = kBlocks,
                                           .colocated = true},
                            .trace = requests,
                            .on_plan = [&](int, const StepPlan& plan) { plans.push_back(plan); }};
    const sim::SimResult result = sim::simulate(d, options);
    EXPECT_EQ(result.finished, int64_t(requests.size()));
    return as_trace_ids(plans, 0);
}

TEST(TraceEquivalence, EngineAndSimulatorMakeTheSameStepPlans) {
    const auto requests = trace();
    const std::vector<StepPlan> engine = run_engine(requests), sim = run_simulator(requests);
    int64_t preempted = 0, cached = 0, hits = 0, chunks = 0;
    for (const StepPlan& p : engine) {
        preempted += int64_t(p.preempted.size());
        for (const auto& s : p.sequences) {
            cached += std::max(0, s.cached_tokens);
            hits += s.cached_tokens > 0;
            chunks += s.prefill && !s.samples;
        }
    }
    // The trace exercises what it is meant to.
    EXPECT_GT(preempted, 0);
    EXPECT_GE(hits, 3);
    EXPECT_GE(cached, 3 * 32);
    EXPECT_GT(chunks, 0);
    ASSERT_EQ(engine.size(), sim.size());
    for (size_t k = 0; k < engine.size(); ++k) {
        const StepPlan &a = engine[k], &b = sim[k];
        SCOPED_TRACE("step " + std::to_string(k));
        ASSERT_EQ(a.sequences.size(), b.sequences.size());
        for (size_t i = 0; i < a.sequences.size(); ++i) {
            const auto &x = a.sequences[i], &y = b.sequences[i];
            EXPECT_EQ(x.id, y.id);
            EXPECT_EQ(x.start, y.start) << "request " << x.id;
            EXPECT_EQ(x.n_tokens, y.n_tokens) << "request " << x.id;
            EXPECT_EQ(x.prefill, y.prefill) << "request " << x.id;
            EXPECT_EQ(x.samples, y.samples) << "request " << x.id;
            EXPECT_EQ(x.cached_tokens, y.cached_tokens) << "request " << x.id;
            EXPECT_EQ(x.new_blocks, y.new_blocks) << "request " << x.id;
        }
        EXPECT_EQ(a.preempted, b.preempted);
        EXPECT_EQ(a.rejected, b.rejected);
        EXPECT_EQ(a.finished, b.finished);
        EXPECT_EQ(a.total_tokens, b.total_tokens);
    }
}

}  // namespace
}  // namespace ms
