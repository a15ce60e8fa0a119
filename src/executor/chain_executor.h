// Runs a model's chain of units the way its deployment asks: whole, or as micro-batches that
// overlap units in other workers (micro_batch.h), with attention data-parallel groups taking
// turns on the front end's cores (compute_turn.h), and timing each unit when asked. The model is
// only the chain; every step that runs it goes through here (engine/step_executor.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "executor/micro_batch.h"
#include "model/model.h"

namespace ms::executor {

class ComputeTurn;

// Calls of one unit of the chain and the wall time they took (ChainExecutor::time_units()).
struct UnitTime {
    uint64_t calls = 0;
    uint64_t nanoseconds = 0;
};

class ChainExecutor {
public:
    // One DP group, the chain whole, no timing.
    explicit ChainExecutor(model::Model& model);
    ~ChainExecutor();
    ChainExecutor(const ChainExecutor&) = delete;
    ChainExecutor& operator=(const ChainExecutor&) = delete;

    model::Model& model() const { return model_; }

    // Runs the model's chain on one batch of DP group dp_group; logits has one row per token that
    // wants logits. With several DP groups the step holds the compute turn while it computes and
    // lends it while it waits for a worker. Throws std::invalid_argument for a group that does
    // not exist, else what the units throw.
    void forward(const model::Batch& batch, ThreadPool* pool, model::Activations& logits,
                 int dp_group = 0);

    // From now on each step with several sequences runs as up to n micro-batches that overlap
    // units in other workers; 1, the default, runs the chain whole. Call before forward() runs
    // anywhere.
    void set_micro_batches(int n);
    int micro_batches() const { return micro_batches_; }

    // From now on n attention data-parallel groups (each with its own requests and KV blocks)
    // run steps at once: while one waits for a unit in another worker, another computes. Each
    // group's micro-batches are its own (groups x micro-batches <= model::kMaxMicroBatches). Call
    // before forward() runs anywhere.
    void set_dp_groups(int n);
    int dp_groups() const { return dp_groups_; }

    // From now on forward() times each unit (for a split deployment's metrics). Off by default,
    // so the colocated path runs the plain chain. Call before forward() runs anywhere.
    void time_units();
    // Per chain index since time_units() (calls that threw are not counted); empty while off.
    // Safe from any thread.
    std::vector<UnitTime> unit_times() const;

    // Steps, micro-batches, step time and bubbles of the pipelined steps; safe from any thread.
    const PipelineCounters& pipeline_counters() const { return pipeline_; }

private:
    struct UnitClock;
    void forward_timed(const model::StepContext& ctx, model::Activations& logits);
    void record_unit_time(size_t unit, uint64_t calls, uint64_t nanoseconds);

    model::Model& model_;
    int micro_batches_ = 1;
    int dp_groups_ = 1;
    PipelineCounters pipeline_;
    std::unique_ptr<ComputeTurn> turn_;         // null with one group
    std::unique_ptr<UnitClock[]> unit_clocks_;  // one per unit while timing
};

}  // namespace ms::executor
