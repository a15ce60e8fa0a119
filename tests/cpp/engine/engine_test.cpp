// The serving engine on the tiny real model: batching, prefix reuse, preemption and
// cancellation must never change what a request produces.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "engine/session.h"
#include "executor/chain_executor.h"
#include "tokenizer/vocab.h"

namespace {

using namespace ms::engine;

const std::string kModel = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";

struct Outcome {
    std::vector<int32_t> tokens;
    FinishEvent finish;
};

// Submits a request and collects its tokens; get() waits for the end.
class Collector {
public:
    Collector(Engine& engine, GenerationRequest request, int stop_after = -1) {
        RequestCallbacks callbacks;
        callbacks.on_token = [this, stop_after](const TokenEvent& e) {
            std::lock_guard lock(mutex_);
            outcome_.tokens.push_back(e.token);
            return stop_after < 0 || int(outcome_.tokens.size()) < stop_after;
        };
        callbacks.on_finish = [this](const FinishEvent& e) {
            std::lock_guard lock(mutex_);
            outcome_.finish = e;
            done_.set_value();
        };
        result_ = engine.submit(std::move(request), std::move(callbacks));
        if (result_.status != SubmitStatus::Accepted) done_.set_value();
    }
    const SubmitResult& submitted() const { return result_; }
    Outcome get() {
        done_.get_future().wait();
        std::lock_guard lock(mutex_);
        return outcome_;
    }

private:
    std::mutex mutex_;
    Outcome outcome_;
    std::promise<void> done_;
    SubmitResult result_;
};

GenerationRequest greedy(std::vector<int32_t> prompt, int max_tokens) {
    GenerationRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.ignore_eos = true;
    return r;
}

std::vector<int32_t> prompt_of(int n, int salt) {
    std::vector<int32_t> p{1};
    for (int i = 1; i < n; ++i) p.push_back(3 + (i * 37 + salt * 101) % 500);
    return p;
}

// Reference: the same greedy continuation from a single-sequence session.
std::vector<int32_t> alone(ms::model::Model& model, const std::vector<int32_t>& prompt, int n) {
    ms::executor::ChainExecutor chain(model);
    Session session(chain, nullptr, {.n_ctx = 512, .n_batch = 512, .block_size = 16});
    Sampler sampler({});
    ms::model::Activations logits;
    session.append(prompt, false, logits);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(sampler.sample({logits.row(0), size_t(logits.cols)}, session.tokens()));
        session.append({&out.back(), 1}, false, logits);
    }
    return out;
}

class EngineTest : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = ms::model::Model::load(kModel);
        chain_ = std::make_unique<ms::executor::ChainExecutor>(*model_);
        reference_model_ = ms::model::Model::load(kModel);
        vocab_ = ms::tok::Vocab::from_gguf(model_->file());
    }
    std::unique_ptr<ms::model::Model> model_, reference_model_;
    std::unique_ptr<ms::executor::ChainExecutor> chain_;  // runs model_
    std::unique_ptr<ms::tok::Vocab> vocab_;
};

TEST_F(EngineTest, ConcurrentRequestsMatchSingleRuns) {
    Engine engine(*chain_, *vocab_,
                  {.threads = 2, .n_ctx = 512, .kv_blocks = 64, .step_token_budget = 48});
    std::vector<std::unique_ptr<Collector>> requests;
    for (int i = 0; i < 8; ++i)
        requests.push_back(
            std::make_unique<Collector>(engine, greedy(prompt_of(10 + 9 * i, i), 20)));
    for (int i = 0; i < 8; ++i) {
        const auto outcome = requests[size_t(i)]->get();
        EXPECT_EQ(outcome.finish.reason, FinishReason::Length);
        EXPECT_EQ(outcome.tokens, alone(*reference_model_, prompt_of(10 + 9 * i, i), 20)) << i;
    }
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);
}

TEST_F(EngineTest, SharedPrefixIsReusedWithoutChangingOutput) {
    Engine engine(*chain_, *vocab_, {.threads = 2, .n_ctx = 512, .kv_blocks = 32});
    auto first = prompt_of(50, 1);
    Collector(engine, greedy(first, 4)).get();
    auto second = first;
    second.resize(40);
    second.push_back(77);
    const auto outcome = Collector(engine, greedy(second, 12)).get();
    EXPECT_EQ(outcome.finish.cached_prompt_tokens, 32);  // two full blocks of 16
    EXPECT_EQ(outcome.tokens, alone(*reference_model_, second, 12));
    const auto stats = engine.stats();
    EXPECT_EQ(stats.prefix_hits, 32u);
    EXPECT_EQ(stats.prefix_queries, 50u + 41u);
    EXPECT_GT(stats.kv_blocks_cached, 0);
}

TEST_F(EngineTest, PreemptionWhenKvRunsOutKeepsResults) {
    // 8 blocks of 16 tokens cannot hold four requests of 70 tokens at once.
    Engine engine(*chain_, *vocab_,
                  {.threads = 2, .n_ctx = 512, .kv_blocks = 8, .prefix_caching = false});
    std::vector<std::unique_ptr<Collector>> requests;
    for (int i = 0; i < 4; ++i)
        requests.push_back(std::make_unique<Collector>(engine, greedy(prompt_of(30, i), 40)));
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(requests[size_t(i)]->get().tokens,
                  alone(*reference_model_, prompt_of(30, i), 40));
    EXPECT_GT(engine.stats().preemptions, 0u);
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);
}

TEST_F(EngineTest, StopFromCallbackAndCancelFreeBlocks) {
    Engine engine(*chain_, *vocab_, {.threads = 2, .n_ctx = 512, .kv_blocks = 32});
    const auto stopped = Collector(engine, greedy(prompt_of(20, 3), 100), 5).get();
    EXPECT_EQ(stopped.finish.reason, FinishReason::Stop);
    EXPECT_EQ(stopped.tokens.size(), 5u);

    std::promise<void> first_token;
    bool told = false;
    std::promise<FinishEvent> finished;
    RequestCallbacks callbacks{[&](const TokenEvent&) {
                                   if (!told) first_token.set_value();
                                   told = true;
                                   return true;
                               },
                               [&](const FinishEvent& e) { finished.set_value(e); }};
    const auto result = engine.submit(greedy(prompt_of(20, 4), 400), std::move(callbacks));
    ASSERT_EQ(result.status, SubmitStatus::Accepted);
    first_token.get_future().wait();
    engine.cancel(result.id);
    EXPECT_EQ(finished.get_future().get().reason, FinishReason::Cancelled);
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);
}

TEST_F(EngineTest, RefusesBadRequestsAndOverload) {
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 64, .kv_blocks = 16, .max_waiting = 2});
    auto submit = [&](GenerationRequest r) {
        return engine
            .submit(std::move(r),
                    {[](const TokenEvent&) { return true; }, [](const FinishEvent&) {}})
            .status;
    };
    EXPECT_EQ(submit(greedy({}, 4)), SubmitStatus::Invalid);
    EXPECT_EQ(submit(greedy({1, 99999}, 4)), SubmitStatus::Invalid);
    EXPECT_EQ(submit(greedy(prompt_of(64, 0), 4)), SubmitStatus::TooLong);
    Engine small(*chain_, *vocab_,
                 {.threads = 1, .n_ctx = 512, .kv_blocks = 2});  // 32 tokens of KV
    EXPECT_EQ(small.submit(greedy(prompt_of(40, 0), 4), {}).status, SubmitStatus::TooLong);
    GenerationRequest hot = greedy({1, 2}, 4);
    hot.sampling.top_p = 0.0f;
    EXPECT_EQ(submit(hot), SubmitStatus::Invalid);
    int full = 0;
    for (int i = 0; i < 20; ++i)
        full += submit(greedy(prompt_of(30, i), 30)) == SubmitStatus::QueueFull;
    EXPECT_GT(full, 0);
    engine.drain();
    EXPECT_EQ(submit(greedy({1, 2}, 4)), SubmitStatus::Draining);
}

TEST_F(EngineTest, PastDeadlineEndsTheRequest) {
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 512, .kv_blocks = 16});
    auto request = greedy(prompt_of(20, 5), 50);
    request.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    EXPECT_EQ(Collector(engine, request).get().finish.reason, FinishReason::Deadline);
}

TEST_F(EngineTest, NotAdmittedByTheQueueDeadlineFailsAsRetryable) {
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 512, .kv_blocks = 16});
    auto late = greedy(prompt_of(20, 5), 8);
    late.queue_deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    const auto refused = Collector(engine, late).get().finish;
    EXPECT_EQ(refused.reason, FinishReason::Error);
    EXPECT_TRUE(refused.retry_later);
    EXPECT_NE(refused.error.find("waited too long"), std::string::npos);

    auto in_time = greedy(prompt_of(20, 5), 8);
    in_time.queue_deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    EXPECT_EQ(Collector(engine, in_time).get().finish.reason, FinishReason::Length);
}

// Stands in for the head while `failure` is set: throws it (a remote unit whose worker is gone).
struct FailingUnit final : ms::model::Unit {
    std::string name() const override { return inner->name(); }
    void forward(const ms::model::StepContext& ctx, ms::model::Activations& x) override {
        if (failure) std::rethrow_exception(failure);
        inner->forward(ctx, x);
    }
    std::unique_ptr<ms::model::Unit> inner;
    std::exception_ptr failure;
};

TEST_F(EngineTest, AnUnavailableUnitFailsTheStepAsRetryableAndServingGoesOn) {
    auto failing = std::make_unique<FailingUnit>();
    FailingUnit* unit = failing.get();
    unit->inner = model_->replace_unit(model_->units().size() - 1, std::move(failing));
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 512, .kv_blocks = 16});

    unit->failure = std::make_exception_ptr(ms::model::UnitUnavailable("worker ffn/0 is gone"));
    const auto unavailable = Collector(engine, greedy(prompt_of(10, 7), 4)).get().finish;
    EXPECT_EQ(unavailable.reason, FinishReason::Error);
    // The worker's name is for the log; clients hear a summary.
    EXPECT_EQ(unavailable.error, "a worker of the model is unavailable");
    EXPECT_TRUE(unavailable.retry_later);

    unit->failure = std::make_exception_ptr(std::runtime_error("the unit is broken"));
    const auto broken = Collector(engine, greedy(prompt_of(10, 7), 4)).get().finish;
    EXPECT_EQ(broken.reason, FinishReason::Error);
    EXPECT_FALSE(broken.retry_later);

    unit->failure = nullptr;
    const auto served = Collector(engine, greedy(prompt_of(10, 7), 4)).get();
    EXPECT_EQ(served.finish.reason, FinishReason::Length);
    EXPECT_EQ(served.tokens, alone(*reference_model_, prompt_of(10, 7), 4));
}

TEST_F(EngineTest, LogprobsAreNormalisedAndRanked) {
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 512, .kv_blocks = 16});
    auto request = greedy(prompt_of(10, 6), 3);
    request.top_logprobs = 5;
    std::vector<TokenEvent> events;
    std::promise<void> done;
    engine.submit(request, {[&](const TokenEvent& e) {
                                events.push_back(e);
                                return true;
                            },
                            [&](const FinishEvent&) { done.set_value(); }});
    done.get_future().wait();
    ASSERT_EQ(events.size(), 3u);
    for (const auto& e : events) {
        ASSERT_EQ(e.top.size(), 5u);
        EXPECT_EQ(e.top[0].first, e.token);  // greedy picks the most likely
        EXPECT_FLOAT_EQ(e.top[0].second, e.logprob);
        EXPECT_LE(e.logprob, 0.0f);
        for (size_t i = 1; i < 5; ++i) EXPECT_LE(e.top[i].second, e.top[i - 1].second);
    }
}

}  // namespace

namespace dp {

// Two attention DP groups: requests are dealt to the least loaded group, each group keeps its
// own KV blocks (a group's blocks never hold another's tokens) and outputs do not change.
TEST_F(EngineTest, DataParallelGroupsShareTheRequestsWithoutChangingOutput) {
    chain_->set_dp_groups(2);
    Engine engine(*chain_, *vocab_,
                  {.threads = 1, .n_ctx = 512, .kv_blocks = 64, .step_token_budget = 48});
    std::vector<std::unique_ptr<Collector>> requests;
    for (int i = 0; i < 6; ++i)
        requests.push_back(
            std::make_unique<Collector>(engine, greedy(prompt_of(12 + 7 * i, i), 16)));
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(requests[size_t(i)]->get().tokens,
                  alone(*reference_model_, prompt_of(12 + 7 * i, i), 16))
            << i;
    const EngineStats stats = engine.stats();
    EXPECT_EQ(stats.kv_blocks_total, 64);  // 32 per group
    EXPECT_EQ(stats.kv_blocks_used, 0);
    EXPECT_EQ(stats.generation_tokens, 6u * 16u);
    // Steps of both groups: at least one step per token of the longest group, counted per group.
    EXPECT_GE(stats.steps, 2u * 16u);
}

TEST_F(EngineTest, ARequestLongerThanOneGroupsKvIsRefused) {
    chain_->set_dp_groups(2);
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 512, .block_size = 16, .kv_blocks = 8});
    Collector too_long(engine, greedy(prompt_of(70, 1), 1));  // 4 blocks per group: 64 tokens
    EXPECT_EQ(too_long.submitted().status, SubmitStatus::TooLong);
    Collector fits(engine, greedy(prompt_of(40, 1), 4));
    EXPECT_EQ(fits.get().finish.reason, FinishReason::Length);
}

TEST_F(EngineTest, CancelAndDrainReachEveryGroup) {
    chain_->set_dp_groups(2);
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 512, .kv_blocks = 64});
    Collector a(engine, greedy(prompt_of(20, 1), 400));
    Collector b(engine, greedy(prompt_of(20, 2), 400));
    engine.cancel(a.submitted().id);
    engine.cancel(b.submitted().id);
    EXPECT_EQ(a.get().finish.reason, FinishReason::Cancelled);
    EXPECT_EQ(b.get().finish.reason, FinishReason::Cancelled);
    engine.drain();
    EXPECT_EQ(Collector(engine, greedy(prompt_of(5, 1), 1)).submitted().status,
              SubmitStatus::Draining);
}

// A chat's next turn goes to the group that served the previous one, whose prefix cache holds
// it, although the other group is as loaded; least-loaded routing alone would send it there.
TEST_F(EngineTest, ARequestGoesToTheGroupHoldingItsPrefix) {
    chain_->set_dp_groups(2);
    Engine engine(*chain_, *vocab_, {.threads = 1, .n_ctx = 4096, .kv_blocks = 640});
    Collector busy_0(engine, greedy(prompt_of(8, 11), 4000));  // group 0
    const auto first_turn = prompt_of(40, 3);                  // group 1, the less loaded
    EXPECT_EQ(Collector(engine, greedy(first_turn, 4)).get().finish.cached_prompt_tokens, 0);
    Collector busy_1(engine, greedy(prompt_of(8, 12), 4000));  // group 1: loads now 1 and 1
    // Both are admitted before the next turn is routed (submit only queues them).
    const auto admitted_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (engine.stats().running < 2 && std::chrono::steady_clock::now() < admitted_by)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_GE(engine.stats().running, 2);
    auto next_turn = first_turn;
    for (int i = 0; i < 10; ++i) next_turn.push_back(7 + i);
    const Outcome next = Collector(engine, greedy(next_turn, 4)).get();
    EXPECT_GE(engine.stats().running, 2);             // both groups stayed busy throughout
    EXPECT_EQ(next.finish.cached_prompt_tokens, 32);  // the first turn's two full blocks
    EXPECT_EQ(next.tokens, alone(*reference_model_, next_turn, 4));
    engine.cancel(busy_0.submitted().id);
    engine.cancel(busy_1.submitted().id);
    EXPECT_EQ(busy_0.get().finish.reason, FinishReason::Cancelled);
    EXPECT_EQ(busy_1.get().finish.reason, FinishReason::Cancelled);
}

}  // namespace dp
