#include "engine/session.h"

#include <stdexcept>
#include <string>

#include "executor/chain_executor.h"

namespace ms::engine {
namespace {

int32_t blocks_for(const SessionOptions& o) {
    if (o.n_ctx <= 0 || o.n_batch <= 0 || o.block_size <= 0)
        throw std::invalid_argument("session: n_ctx, n_batch and block_size must be positive");
    return (o.n_ctx + o.block_size - 1) / o.block_size;
}

}  // namespace

Session::Session(executor::ChainExecutor& chain, ThreadPool* pool, const SessionOptions& options)
    : options_(options),
      kv_({.n_blocks = blocks_for(options),
           .identity = kv_identity(chain.model(), options.block_size),
           .prefix_caching = false}),
      scheduler_({.token_budget = options.n_batch, .max_running = 1}, kv_),
      executor_(chain, pool, 0, options.block_size) {
    chain.model().reserve_kv(kv_.pool().n_total(), options.block_size);
}

void Session::append(std::span<const int32_t> tokens, bool all_logits, model::Activations& logits) {
    if (tokens.empty()) throw std::invalid_argument("session: no tokens to append");
    if (n_past_ + int64_t(tokens.size()) > options_.n_ctx)
        throw std::length_error("session: " + std::to_string(n_past_ + tokens.size()) +
                                " tokens exceed the context of " + std::to_string(options_.n_ctx));
    if (id_ == 0 || !scheduler_.contains(id_)) {
        scheduler_.add({.id = ++id_, .tokens = {tokens.begin(), tokens.end()}});
    } else {
        for (int32_t t : tokens) scheduler_.append(id_, t);
    }
    logits.resize(0, 0);
    while (n_past_ < int32_t(scheduler_.tokens(id_).size())) {
        const scheduler::StepPlan plan = scheduler_.schedule();
        if (plan.sequences.empty()) throw std::logic_error("session: the sequence was not run");
        const model::Activations& rows = executor_.run(plan, scheduler_, all_logits);
        scheduler_.computed(id_, plan.sequences[0].n_tokens);
        n_past_ += plan.sequences[0].n_tokens;
        if (rows.rows == 0) continue;
        logits.cols = rows.cols;
        logits.rows += rows.rows;
        logits.data.insert(logits.data.end(), rows.data.begin(), rows.data.end());
    }
}

std::span<const int32_t> Session::tokens() const {
    if (!scheduler_.contains(id_)) return {};
    return scheduler_.tokens(id_);
}

void Session::reset() {
    scheduler_.finish(id_);
    n_past_ = 0;
}

}  // namespace ms::engine
