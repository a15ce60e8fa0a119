#include "engine/engine_group.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "engine/request_state.h"
#include "engine/step_executor.h"
#include "executor/chain_executor.h"
#include "kernels/thread_pool.h"
#include "scheduler/scheduler.h"
#include "tokenizer/vocab.h"

namespace ms::engine {
namespace {

using Request = std::unique_ptr<RequestState>;

scheduler::KvManagerConfig kv_config(const model::Model& model, const EngineOptions& o,
                                     GroupPlace place) {
    return {.n_blocks = o.kv_blocks,
            .first_block = place.first_block,
            .identity = kv_identity(model, o.block_size),
            .prefix_caching = o.prefix_caching};
}

scheduler::SchedulerConfig scheduler_config(const EngineOptions& o) {
    return {.token_budget = o.step_token_budget, .max_running = o.max_running};
}

}  // namespace

struct EngineGroup::Impl {
    EngineOptions options;
    ThreadPool pool;
    const tok::Vocab& vocab;  // for the model's end-of-generation tokens
    scheduler::KvManager kv;
    scheduler::Scheduler scheduler;
    StepExecutor executor;

    // Shared with callers of the public API.
    mutable std::mutex mutex;
    std::condition_variable wake;     // work arrived or stop asked
    std::condition_variable drained;  // nothing left
    std::deque<Request> inbox;
    std::vector<uint64_t> cancels;
    int32_t queued = 0;  // inbox + waiting
    bool draining = false;
    bool stopping = false;
    EngineStats stats;

    // Engine thread only.
    std::unordered_map<uint64_t, Request> requests;  // running or waiting in the scheduler
    std::thread loop;

    Impl(executor::ChainExecutor& chain, const EngineOptions& o, const tok::Vocab& v,
         GroupPlace place)
        : options(o),
          pool(o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()))),
          vocab(v),
          kv(kv_config(chain.model(), o, place)),
          scheduler(scheduler_config(o), kv),
          executor(chain, &pool, place.dp_group, o.block_size) {
        stats.kv_blocks_total = kv.pool().n_total();
        loop = std::thread([this] { run(); });
    }

    void run();
    void run_step();
    bool take_work();
    void apply_cancels_and_deadlines(const std::vector<uint64_t>& ids);
    void note_plan(const scheduler::StepPlan& plan);
    void after_step(const scheduler::StepPlan& plan, const model::Activations& logits);
    void emit_token(RequestState& r, std::span<const float> logits);
    void finish(uint64_t id, FinishReason reason, const std::string& error = {},
                bool retry_later = false);
    void update_stats();
};

void EngineGroup::Impl::run() {
    while (take_work()) run_step();
    {
        std::lock_guard lock(mutex);
        for (auto& r : inbox) requests.emplace(r->id, std::move(r));
        inbox.clear();
    }
    while (!requests.empty()) finish(requests.begin()->first, FinishReason::Cancelled);
}

void EngineGroup::Impl::run_step() {
    const scheduler::StepPlan plan = scheduler.schedule();
    note_plan(plan);
    if (options.on_plan) options.on_plan(plan);
    if (!plan.sequences.empty()) {
        try {
            after_step(plan, executor.run(plan, scheduler));
        } catch (const std::exception& e) {
            // The text names workers and tensors: the operator's log gets it, clients a summary.
            std::fprintf(stderr, "matrixserve: a step of %zu requests failed: %s\n",
                         plan.sequences.size(), e.what());
            const bool retry_later = dynamic_cast<const model::UnitUnavailable*>(&e) != nullptr;
            const char* summary = retry_later ? "a worker of the model is unavailable"
                                              : "the model failed while running this request";
            for (const auto& s : plan.sequences)
                finish(s.id, FinishReason::Error, summary, retry_later);
        }
    }
    update_stats();
}

// Moves new requests in and applies cancellations; sleeps while idle. False once stopping.
bool EngineGroup::Impl::take_work() {
    std::vector<uint64_t> ids;
    std::deque<Request> arrived;
    {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] {
            return stopping || !inbox.empty() || !cancels.empty() || !requests.empty();
        });
        if (stopping) return false;
        arrived.swap(inbox);
        ids.swap(cancels);
    }
    for (auto& r : arrived) {
        scheduler.add(
            {.id = r->id, .tokens = r->request.prompt, .max_new_tokens = r->request.max_tokens});
        requests.emplace(r->id, std::move(r));
    }
    apply_cancels_and_deadlines(ids);
    update_stats();
    return true;
}

void EngineGroup::Impl::apply_cancels_and_deadlines(const std::vector<uint64_t>& ids) {
    const auto now = RequestState::Clock::now();
    std::vector<std::pair<uint64_t, FinishReason>> ended;
    std::vector<uint64_t> timed_out;
    for (const auto& [id, r] : requests) {
        if (std::find(ids.begin(), ids.end(), id) != ids.end())
            ended.emplace_back(id, FinishReason::Cancelled);
        else if (now > r->request.deadline)
            ended.emplace_back(id, FinishReason::Deadline);
        else if (!r->admitted && now > r->request.queue_deadline)
            timed_out.push_back(id);
    }
    for (const auto& [id, reason] : ended) finish(id, reason);
    for (uint64_t id : timed_out)
        finish(id, FinishReason::Error, "the server is busy: the request waited too long to start",
               true);
}

// Requests the plan ends, and the statistics of those it admits or preempts.
void EngineGroup::Impl::note_plan(const scheduler::StepPlan& plan) {
    for (uint64_t id : plan.rejected)
        finish(id, FinishReason::Error, "the request needs more KV blocks than the engine has");
    uint64_t queries = 0, hits = 0;
    for (const auto& s : plan.sequences) {
        RequestState& r = *requests.at(s.id);
        r.admitted = true;
        if (s.cached_tokens < 0) continue;
        r.cached_prompt = s.cached_tokens;
        queries += r.request.prompt.size();
        hits += uint64_t(s.cached_tokens);
    }
    std::lock_guard lock(mutex);
    stats.prefix_queries += queries;
    stats.prefix_hits += hits;
    stats.preemptions += plan.preempted.size();
}

void EngineGroup::Impl::after_step(const scheduler::StepPlan& plan,
                                   const model::Activations& logits) {
    int64_t row = 0;
    uint64_t prompt_tokens = 0, generated = 0;
    for (const auto& s : plan.sequences) {
        scheduler.computed(s.id, s.n_tokens);
        if (s.prefill) prompt_tokens += uint64_t(s.n_tokens);
        if (!s.samples) continue;
        generated += 1;
        emit_token(*requests.at(s.id), {logits.row(row++), size_t(logits.cols)});
    }
    std::lock_guard lock(mutex);
    stats.prompt_tokens += prompt_tokens;
    stats.generation_tokens += generated;
    ++stats.steps;
}

// Samples the next token and reports it; finishes the request when it is done.
void EngineGroup::Impl::emit_token(RequestState& r, std::span<const float> logits) {
    const int32_t token = r.sampler->sample(logits, scheduler.tokens(r.id));
    scheduler.append(r.id, token);
    ++r.generated;
    TokenEvent event{token, 0.0f, {}};
    if (r.request.top_logprobs >= 0) {
        auto lp = token_logprobs(logits, token, r.request.top_logprobs);
        event.logprob = lp.logprob;
        event.top = std::move(lp.top);
    }
    if (!r.request.ignore_eos && vocab.is_end_of_generation(token))
        finish(r.id, FinishReason::Stop);
    else if (!r.callbacks.on_token(event))
        finish(r.id, FinishReason::Stop);
    else if (r.generated >= r.request.max_tokens ||
             int32_t(scheduler.tokens(r.id).size()) >= options.n_ctx)
        finish(r.id, FinishReason::Length);
}

void EngineGroup::Impl::finish(uint64_t id, FinishReason reason, const std::string& error,
                               bool retry_later) {
    const auto it = requests.find(id);
    if (it == requests.end()) return;  // finished already
    const Request r = std::move(it->second);
    requests.erase(it);
    scheduler.finish(id);
    update_stats();  // observers of on_finish see the blocks already returned
    r->callbacks.on_finish({reason, error, int32_t(r->request.prompt.size()), r->cached_prompt,
                            r->generated, retry_later});
    std::lock_guard lock(mutex);
    if (requests.empty() && queued == 0) drained.notify_all();
}

void EngineGroup::Impl::update_stats() {
    std::lock_guard lock(mutex);
    queued = int32_t(inbox.size()) + scheduler.n_waiting();
    stats.running = scheduler.n_running();
    stats.waiting = queued;
    stats.kv_blocks_used = kv.pool().n_used();
    stats.kv_blocks_cached = kv.pool().n_cached();
}

EngineGroup::EngineGroup(executor::ChainExecutor& chain, const EngineOptions& options,
                         const tok::Vocab& vocab, GroupPlace place)
    : impl_(std::make_unique<Impl>(chain, options, vocab, place)) {}

EngineGroup::~EngineGroup() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    impl_->loop.join();
}

SubmitResult EngineGroup::submit(std::unique_ptr<RequestState> request) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->draining || impl_->stopping)
        return {SubmitStatus::Draining, 0, "the server is shutting down"};
    if (impl_->queued >= impl_->options.max_waiting)
        return {SubmitStatus::QueueFull, 0, "the queue is full; retry later"};
    const uint64_t id = request->id;
    impl_->inbox.push_back(std::move(request));
    ++impl_->queued;
    impl_->wake.notify_one();
    return {SubmitStatus::Accepted, id, {}};
}

void EngineGroup::cancel(uint64_t id) {
    std::lock_guard lock(impl_->mutex);
    impl_->cancels.push_back(id);
    impl_->wake.notify_one();
}

void EngineGroup::start_draining() {
    std::lock_guard lock(impl_->mutex);
    impl_->draining = true;
}

void EngineGroup::wait_drained() {
    std::unique_lock lock(impl_->mutex);
    impl_->drained.wait(lock, [&] { return impl_->queued == 0 && impl_->stats.running == 0; });
}

EngineStats EngineGroup::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

int32_t EngineGroup::load() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats.running + impl_->queued;
}

int64_t EngineGroup::kv_capacity_tokens() const {
    return int64_t(impl_->kv.pool().n_total()) * impl_->options.block_size;
}

}  // namespace ms::engine
