#include "engine/engine_group.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <numeric>
#include <thread>

#include "engine/prefix_cache.h"
#include "engine/request_state.h"
#include "kernels/thread_pool.h"
#include "model/compute_turn.h"
#include "model/model.h"
#include "scheduler/policy.h"
#include "tokenizer/vocab.h"

namespace ms::engine {
namespace {

using Request = std::unique_ptr<RequestState>;

// One sequence's share of a step: compute `n` tokens starting at its `computed`.
struct Scheduled {
    RequestState* request;
    int32_t n;
};

}  // namespace

struct EngineGroup::Impl {
    model::Model& model;
    EngineOptions options;
    int dp_group;
    ThreadPool pool;
    const tok::Vocab& vocab;  // for the model's end-of-generation tokens
    PrefixCache cache;
    std::unique_ptr<scheduler::BatchPolicy> policy = scheduler::make_continuous_batching();

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
    std::vector<Request> running;
    std::deque<Request> waiting;
    model::Batch batch;
    model::Activations logits;
    std::thread loop;

    Impl(model::Model& m, const EngineOptions& o, const tok::Vocab& v, GroupPlace place)
        : model(m),
          options(o),
          dp_group(place.dp_group),
          pool(o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()))),
          vocab(v),
          cache(o.kv_blocks, place.first_block) {
        stats.kv_blocks_total = cache.n_total();
        loop = std::thread([this] { run(); });
    }

    void run();
    void run_step();
    bool take_work();
    void apply_cancels_and_deadlines(const std::vector<uint64_t>& ids);
    std::vector<Scheduled> plan();
    void admit(RequestState& r);
    bool reserve_blocks(std::vector<Scheduled>& step);
    void preempt_newest();
    void execute(std::vector<Scheduled>& step);
    void after_step(const std::vector<Scheduled>& step);
    void publish_full_blocks(RequestState& r);
    void emit_token(RequestState& r, const float* row);
    TokenEvent token_event(const RequestState& r, int32_t token, const float* row) const;
    void finish(RequestState& r, FinishReason reason, const std::string& error = {},
                bool retry_later = false);
    void remove_finished();
    void update_stats();
};

void EngineGroup::Impl::run() {
    while (take_work()) {
        const model::ComputeTurn::Held turn(model.compute_turn());
        run_step();
    }
    {
        std::lock_guard lock(mutex);
        for (auto& r : inbox) waiting.push_back(std::move(r));
        inbox.clear();
    }
    for (auto& r : running) finish(*r, FinishReason::Cancelled);
    for (auto& r : waiting) finish(*r, FinishReason::Cancelled);
}

void EngineGroup::Impl::run_step() {
    std::vector<Scheduled> step = plan();
    if (step.empty() && running.empty() && !waiting.empty()) {
        // Nothing can be admitted into an empty group: the request can never run.
        finish(*waiting.front(), FinishReason::Error, "the request does not fit in the KV cache");
        remove_finished();
        return;
    }
    if (step.empty()) return;
    try {
        if (reserve_blocks(step)) execute(step);
    } catch (const std::exception& e) {
        // The text names workers and tensors: the operator's log gets it, clients a summary.
        std::fprintf(stderr, "matrixserve: a step of %zu requests failed: %s\n", step.size(),
                     e.what());
        const bool retry_later = dynamic_cast<const model::UnitUnavailable*>(&e) != nullptr;
        const char* summary = retry_later ? "a worker of the model is unavailable"
                                          : "the model failed while running this request";
        for (auto& s : step) finish(*s.request, FinishReason::Error, summary, retry_later);
    }
    remove_finished();
    update_stats();
}

// Moves new requests in and applies cancellations; sleeps while idle. False once stopping.
bool EngineGroup::Impl::take_work() {
    std::vector<uint64_t> ids;
    {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] {
            return stopping || !inbox.empty() || !cancels.empty() || !running.empty() ||
                   !waiting.empty();
        });
        if (stopping) return false;
        while (!inbox.empty()) {
            waiting.push_back(std::move(inbox.front()));
            inbox.pop_front();
        }
        ids.swap(cancels);
    }
    apply_cancels_and_deadlines(ids);
    remove_finished();
    update_stats();
    return true;
}

void EngineGroup::Impl::apply_cancels_and_deadlines(const std::vector<uint64_t>& ids) {
    const auto now = RequestState::Clock::now();
    auto check = [&](RequestState& r) {
        if (std::find(ids.begin(), ids.end(), r.id) != ids.end())
            finish(r, FinishReason::Cancelled);
        else if (now > r.request.deadline)
            finish(r, FinishReason::Deadline);
    };
    for (auto& r : running) check(*r);
    for (auto& r : waiting) {
        check(*r);  // finish() ignores a request that has finished already
        if (!r->admitted_before && now > r->request.queue_deadline)
            finish(*r, FinishReason::Error,
                   "the server is busy: the request waited too long to start", true);
    }
}

std::vector<Scheduled> EngineGroup::Impl::plan() {
    auto state_of = [](const RequestState& r) {
        const int32_t n = int32_t(r.tokens.size());
        // A request with one pending token is decoding; otherwise it is (re)filling its prompt.
        const int32_t prompt = r.pending() == 1 ? r.computed : n;
        return scheduler::SequenceState{uint32_t(r.id), prompt, r.computed, 0};
    };
    std::vector<scheduler::SequenceState> run_states, wait_states;
    for (const auto& r : running) run_states.push_back(state_of(*r));
    for (const auto& r : waiting) wait_states.push_back(state_of(*r));
    const scheduler::StepLimits limits{
        .token_budget = options.step_token_budget,
        .max_running = options.max_running,
        .decode_tokens_per_seq = 1,
        .kv_capacity_tokens = int64_t(cache.n_total()) * options.block_size};
    scheduler::StepPlan step_plan;
    policy->plan_step(run_states, wait_states, limits, step_plan);

    std::vector<Scheduled> step;
    for (size_t i = 0; i < running.size(); ++i)
        if (step_plan.tokens[i] > 0) step.push_back({running[i].get(), step_plan.tokens[i]});
    for (int32_t j = 0; j < step_plan.admitted(); ++j) {
        running.push_back(std::move(waiting.front()));
        waiting.pop_front();
        RequestState& r = *running.back();
        admit(r);
        step.push_back({&r, std::min(step_plan.admitted_tokens[size_t(j)], r.pending())});
    }
    {
        std::lock_guard lock(mutex);
        queued -= step_plan.admitted();
    }
    return step;
}

// Reuses cached blocks for the longest matching prefix (never the last token: its logits are
// needed, so at least one token is always computed).
void EngineGroup::Impl::admit(RequestState& r) {
    if (!options.prefix_caching || r.computed > 0) return;
    const int32_t bs = options.block_size;
    const size_t reusable = size_t((int32_t(r.tokens.size()) - 1) / bs);
    r.block_hashes = PrefixCache::block_hashes({r.tokens.data(), reusable * size_t(bs)}, bs);
    r.blocks = cache.acquire_prefix(r.block_hashes);
    r.block_hashes.resize(r.blocks.size());
    r.computed = int32_t(r.blocks.size()) * bs;
    if (!r.admitted_before) {
        r.cached_prompt = r.computed;
        std::lock_guard lock(mutex);
        stats.prefix_queries += r.tokens.size();
        stats.prefix_hits += uint64_t(r.computed);
    }
    r.admitted_before = true;
}

// Gives every scheduled request blocks for its tokens, preempting the newest running
// requests when the pool runs dry. False when nothing is left to run.
bool EngineGroup::Impl::reserve_blocks(std::vector<Scheduled>& step) {
    for (size_t i = 0; i < step.size(); ++i) {
        RequestState& r = *step[i].request;
        const size_t needed =
            size_t((r.computed + step[i].n + options.block_size - 1) / options.block_size);
        while (r.blocks.size() < needed) {
            const int32_t block = cache.allocate();
            if (block >= 0) {
                r.blocks.push_back(block);
                continue;
            }
            if (running.size() == 1) {
                finish(r, FinishReason::Error, "request needs more KV blocks than the engine has");
                step[i].n = 0;
                break;
            }
            RequestState* victim = running.back().get();
            for (auto& s : step)
                if (s.request == victim) s.n = 0;
            preempt_newest();
            if (victim == &r) break;
        }
    }
    std::erase_if(step, [](const Scheduled& s) { return s.n == 0; });
    return !step.empty();
}

// Recompute-style preemption: the newest request drops its KV and queues again at the front.
void EngineGroup::Impl::preempt_newest() {
    Request victim = std::move(running.back());
    running.pop_back();
    for (int32_t b : victim->blocks) cache.release(b);
    victim->blocks.clear();
    victim->block_hashes.clear();
    victim->computed = 0;
    waiting.push_front(std::move(victim));
    std::lock_guard lock(mutex);
    ++queued;
    ++stats.preemptions;
}

void EngineGroup::Impl::execute(std::vector<Scheduled>& step) {
    batch = model::Batch{};
    batch.block_size = options.block_size;
    for (size_t s = 0; s < step.size(); ++s) {
        RequestState& r = *step[s].request;
        batch.block_tables.push_back(r.blocks);
        for (int32_t i = 0; i < step[s].n; ++i) {
            const int32_t pos = r.computed + i;
            batch.add(r.tokens[size_t(pos)], pos, int32_t(s), pos + 1 == int32_t(r.tokens.size()));
        }
    }
    model.forward(batch, &pool, logits, dp_group);
    after_step(step);
}

void EngineGroup::Impl::after_step(const std::vector<Scheduled>& step) {
    int64_t row = 0;
    uint64_t prompt_tokens = 0, generated = 0;
    for (const auto& s : step) {
        RequestState& r = *s.request;
        const bool samples = r.computed + s.n == int32_t(r.tokens.size());
        if (r.pending() > 1) prompt_tokens += uint64_t(s.n);
        r.computed += s.n;
        if (options.prefix_caching) publish_full_blocks(r);
        if (!samples) continue;
        generated += 1;
        emit_token(r, logits.row(row++));
    }
    std::lock_guard lock(mutex);
    stats.prompt_tokens += prompt_tokens;
    stats.generation_tokens += generated;
    ++stats.steps;
}

void EngineGroup::Impl::publish_full_blocks(RequestState& r) {
    const int32_t bs = options.block_size;
    while (int32_t(r.block_hashes.size()) < r.computed / bs) {
        const size_t b = r.block_hashes.size();
        const uint64_t parent = b == 0 ? 0 : r.block_hashes.back();
        const uint64_t hash =
            PrefixCache::chain_hash(parent, {r.tokens.data() + b * size_t(bs), size_t(bs)});
        cache.publish(r.blocks[b], hash);
        r.block_hashes.push_back(hash);
    }
}

// Samples the next token and reports it; finishes the request when it is done.
void EngineGroup::Impl::emit_token(RequestState& r, const float* row) {
    const int32_t token = r.sampler->sample({row, size_t(logits.cols)}, r.tokens);
    r.tokens.push_back(token);
    ++r.generated;
    if (!r.request.ignore_eos && vocab.is_end_of_generation(token))
        finish(r, FinishReason::Stop);
    else if (!r.callbacks.on_token(token_event(r, token, row)))
        finish(r, FinishReason::Stop);
    else if (r.generated >= r.request.max_tokens || int32_t(r.tokens.size()) >= options.n_ctx)
        finish(r, FinishReason::Length);
}

// Log-probabilities come from the model's distribution, before sampling adjustments.
TokenEvent EngineGroup::Impl::token_event(const RequestState& r, int32_t token,
                                          const float* row) const {
    TokenEvent event{token, 0.0f, {}};
    if (r.request.top_logprobs < 0) return event;
    const auto n = size_t(logits.cols);
    const float max = *std::max_element(row, row + n);
    double sum = 0.0;
    for (size_t v = 0; v < n; ++v) sum += std::exp(double(row[v] - max));
    const float log_z = max + float(std::log(sum));
    event.logprob = row[token] - log_z;
    std::vector<int32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0);
    const size_t k = std::min(n, size_t(r.request.top_logprobs));
    std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(k), ids.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    for (size_t i = 0; i < k; ++i) event.top.emplace_back(ids[i], row[ids[i]] - log_z);
    return event;
}

void EngineGroup::Impl::finish(RequestState& r, FinishReason reason, const std::string& error,
                               bool retry_later) {
    if (!r.callbacks.on_finish) return;  // already finished
    for (int32_t b : r.blocks) cache.release(b);
    r.blocks.clear();
    update_stats();  // observers of on_finish see the blocks already returned
    FinishEvent event{reason,          error,       int32_t(r.request.prompt.size()),
                      r.cached_prompt, r.generated, retry_later};
    auto on_finish = std::move(r.callbacks.on_finish);
    r.callbacks.on_finish = nullptr;
    on_finish(event);
}

void EngineGroup::Impl::remove_finished() {
    auto finished = [](const Request& r) { return !r->callbacks.on_finish; };
    std::erase_if(running, finished);
    const auto before = waiting.size();
    std::erase_if(waiting, finished);
    std::lock_guard lock(mutex);
    queued -= int32_t(before - waiting.size());
    stats.running = int32_t(running.size());
    if (running.empty() && queued == 0) drained.notify_all();
}

void EngineGroup::Impl::update_stats() {
    std::lock_guard lock(mutex);
    stats.running = int32_t(running.size());
    stats.waiting = queued;
    stats.kv_blocks_used = cache.n_used();
    stats.kv_blocks_cached = cache.n_cached();
}

EngineGroup::EngineGroup(model::Model& model, const EngineOptions& options, const tok::Vocab& vocab,
                         GroupPlace place)
    : impl_(std::make_unique<Impl>(model, options, vocab, place)) {}

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
    return int64_t(impl_->cache.n_total()) * impl_->options.block_size;
}

}  // namespace ms::engine
