// One sequence run through a model, a few tokens at a time (`generate`, `logits`, `bench`): its
// tokens go through the same scheduler and step executor as the serving engine's, in chunks of
// at most n_batch, and each append returns logits.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/step_executor.h"
#include "model/unit.h"
#include "scheduler/scheduler.h"

namespace ms::engine {

struct SessionOptions {
    int32_t n_ctx = 2048;     // most positions the sequence may hold
    int32_t n_batch = 256;    // most tokens per forward pass
    int32_t block_size = 16;  // tokens per KV block
};

class Session {
public:
    // Sizes the model's KV store for n_ctx positions of this one sequence; steps run through
    // chain as DP group 0.
    Session(executor::ChainExecutor& chain, ThreadPool* pool, const SessionOptions& options);

    // Appends tokens at the end of the sequence. logits receives one row per appended token
    // when all_logits, else only the last token's row. Throws std::length_error past n_ctx.
    void append(std::span<const int32_t> tokens, bool all_logits, model::Activations& logits);
    int32_t n_past() const { return n_past_; }
    std::span<const int32_t> tokens() const;  // appended so far
    void reset();

private:
    SessionOptions options_;
    scheduler::KvManager kv_;
    scheduler::Scheduler scheduler_;
    StepExecutor executor_;
    uint64_t id_ = 0;  // the sequence's id in the scheduler; 0 before the first append
    int32_t n_past_ = 0;
};

}  // namespace ms::engine
