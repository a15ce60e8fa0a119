#include "engine/engine.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <span>
#include <stdexcept>
#include <vector>

#include "engine/engine_group.h"
#include "engine/prefix_router.h"
#include "engine/request_state.h"
#include "executor/chain_executor.h"
#include "scheduler/block_pool.h"
#include "tokenizer/vocab.h"

namespace ms::engine {

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Stop:
            return "stop";
        case FinishReason::Length:
            return "length";
        case FinishReason::Cancelled:
            return "cancelled";
        case FinishReason::Deadline:
            return "deadline";
        case FinishReason::Error:
            return "error";
    }
    return "unknown";
}

namespace {

// Enough for max_running requests of 1024 tokens, but at most a quarter of the machine's
// memory (pages are committed as blocks are first used, so an idle server holds little).
int32_t default_kv_blocks(const EngineOptions& o, int64_t kv_bytes_per_token) {
    const int64_t wanted = int64_t(o.max_running) * ((1024 + o.block_size - 1) / o.block_size);
    const int64_t memory = int64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    const int64_t block_bytes = std::max<int64_t>(1, kv_bytes_per_token * o.block_size);
    return int32_t(std::clamp<int64_t>(memory / 4 / block_bytes, 1, wanted));
}

int32_t share(int32_t total, int groups) {
    return std::max(1, (total + groups - 1) / groups);
}

// Blocks of prompts remembered for routing: a few MB of index for many long conversations.
constexpr size_t kRoutedBlocks = 1 << 16;

}  // namespace

struct Engine::Impl {
    EngineOptions options;
    executor::ChainExecutor& chain;
    model::Model& model;
    const tok::Vocab& vocab;
    std::atomic<uint64_t> next_id{1};
    PrefixRouter router{kRoutedBlocks};
    int32_t load_slack = 1;  // requests more than the least loaded group a prefix may cost
    std::vector<std::unique_ptr<EngineGroup>> groups;

    Impl(executor::ChainExecutor& c, const tok::Vocab& v, const EngineOptions& o)
        : options(o), chain(c), model(c.model()), vocab(v) {
        if (options.kv_blocks <= 0)
            options.kv_blocks = default_kv_blocks(options, model.kv_bytes_per_token());
        const int n = chain.dp_groups();
        EngineOptions each = options;
        each.kv_blocks = options.kv_blocks / n;
        each.max_running = share(options.max_running, n);
        each.max_waiting = share(options.max_waiting, n);
        if (each.kv_blocks < 1)
            throw std::invalid_argument("engine: " + std::to_string(options.kv_blocks) +
                                        " KV blocks cannot be shared by " + std::to_string(n) +
                                        " DP groups");
        model.reserve_kv(each.kv_blocks * n, options.block_size);
        load_slack = std::max(1, each.max_running / 4);
        for (int g = 0; g < n; ++g)
            groups.push_back(std::make_unique<EngineGroup>(chain, each, vocab,
                                                           GroupPlace{g, g * each.kv_blocks}));
    }

    // The group holding the longest known prefix of the prompt (its prefix cache likely still
    // has it) unless that group is busier than the least loaded one by more than load_slack;
    // else the least loaded group (the first of equals).
    size_t choose_group(std::span<const uint64_t> prompt_blocks) {
        std::vector<int32_t> loads;
        for (const auto& group : groups) loads.push_back(group->load());
        size_t least = size_t(std::min_element(loads.begin(), loads.end()) - loads.begin());
        const auto known = router.longest_prefix(prompt_blocks);
        if (known && loads[size_t(known->first)] <= loads[least] + load_slack)
            least = size_t(known->first);
        return least;
    }

    // The prompt's full blocks as the groups' prefix caches name them; none when routing by
    // prefix does not apply.
    std::vector<uint64_t> routing_blocks(const std::vector<int32_t>& prompt) const {
        if (groups.size() == 1 || !options.prefix_caching) return {};
        std::vector<uint64_t> hashes;
        scheduler::extend_block_hashes(0, prompt, options.block_size, hashes);
        return hashes;
    }
};

Engine::Engine(executor::ChainExecutor& chain, const tok::Vocab& vocab,
               const EngineOptions& options)
    : impl_(std::make_unique<Impl>(chain, vocab, options)) {}

Engine::~Engine() = default;

SubmitResult Engine::submit(GenerationRequest request, RequestCallbacks callbacks) {
    const int64_t n_vocab = impl_->model.hparams().n_vocab;
    const auto bad_token = std::find_if(request.prompt.begin(), request.prompt.end(),
                                        [&](int32_t t) { return t < 0 || t >= n_vocab; });
    if (request.prompt.empty()) return {SubmitStatus::Invalid, 0, "the prompt is empty"};
    if (bad_token != request.prompt.end())
        return {SubmitStatus::Invalid, 0,
                "token id " + std::to_string(*bad_token) + " is outside the vocabulary"};
    if (request.max_tokens < 1) return {SubmitStatus::Invalid, 0, "max_tokens must be at least 1"};
    if (request.top_logprobs > 20)
        return {SubmitStatus::Invalid, 0, "top_logprobs must be at most 20"};
    if (int64_t(request.prompt.size()) >= impl_->options.n_ctx)
        return {SubmitStatus::TooLong, 0,
                "the prompt has " + std::to_string(request.prompt.size()) +
                    " tokens; the context holds " + std::to_string(impl_->options.n_ctx)};
    const std::vector<uint64_t> prompt_blocks = impl_->routing_blocks(request.prompt);
    const size_t chosen = impl_->choose_group(prompt_blocks);
    EngineGroup& group = *impl_->groups[chosen];
    const int64_t kv_tokens = group.kv_capacity_tokens();
    if (int64_t(request.prompt.size()) >= kv_tokens)
        return {SubmitStatus::TooLong, 0,
                "the prompt has " + std::to_string(request.prompt.size()) +
                    " tokens; the KV cache holds " + std::to_string(kv_tokens)};
    auto state = std::make_unique<RequestState>();
    try {
        state->sampler = std::make_unique<Sampler>(request.sampling);
    } catch (const std::invalid_argument& e) {
        return {SubmitStatus::Invalid, 0, e.what()};
    }
    state->request = std::move(request);
    state->callbacks = std::move(callbacks);
    state->id = impl_->next_id++;
    const SubmitResult result = group.submit(std::move(state));
    if (result.status == SubmitStatus::Accepted) impl_->router.remember(prompt_blocks, int(chosen));
    return result;
}

void Engine::cancel(uint64_t id) {
    for (auto& group : impl_->groups) group->cancel(id);
}

void Engine::drain() {
    for (auto& group : impl_->groups) group->start_draining();
    for (auto& group : impl_->groups) group->wait_drained();
}

EngineStats Engine::stats() const {
    EngineStats total;
    for (const auto& group : impl_->groups) {
        const EngineStats s = group->stats();
        total.running += s.running;
        total.waiting += s.waiting;
        total.kv_blocks_total += s.kv_blocks_total;
        total.kv_blocks_used += s.kv_blocks_used;
        total.kv_blocks_cached += s.kv_blocks_cached;
        total.prefix_queries += s.prefix_queries;
        total.prefix_hits += s.prefix_hits;
        total.prompt_tokens += s.prompt_tokens;
        total.generation_tokens += s.generation_tokens;
        total.preemptions += s.preemptions;
        total.steps += s.steps;
    }
    return total;
}

const EngineOptions& Engine::options() const {
    return impl_->options;
}

}  // namespace ms::engine
