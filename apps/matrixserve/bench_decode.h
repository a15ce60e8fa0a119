// Batched decode for `matrixserve bench --sequences`: N sequences, each prefilled with a short
// prompt, then steps that carry one token of every sequence, as a serving engine's decode steps
// do. This is the shape a split deployment is judged by: its transport cost is paid per step
// (per layer), so larger batches spread it over more tokens (docs/bench-split.md).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "executor/chain_executor.h"
#include "runtime/split_runtime.h"

namespace ms::app {

// What one decode step cost on average, beside its wall time.
struct StepCosts {
    std::map<std::string, double> unit_ms;  // by unit kind (attn, ffn, head, ...); timed models
    // The front end's transport with its workers (split deployments only). Receive time includes
    // waiting for the worker's reply, hence its compute.
    std::optional<double> transport_ms;
    std::optional<double> send_ms;       // the part spent sending: copying into the transport
    std::optional<double> transport_mb;  // sent + received
    std::optional<double> transport_messages;
    // Time the front end waited for a worker with no other micro-batch to run (pipelined steps).
    std::optional<double> bubble_ms;
};

// One row of the bench table: a test at a thread count, its tokens/s per repetition.
struct BenchResult {
    std::string test;  // pp128, tg64, or tg64x8 (64 steps of 8 sequences)
    int threads = 1;
    std::vector<double> tokens_per_s;
    int sequences = 1;
    StepCosts per_step;

    double median() const;
    double stdev() const;
};

struct DecodeBenchOptions {
    int sequences = 1;
    int prompt_tokens = 32;  // prefilled per sequence before the timed steps
    int steps = 64;
    int repetitions = 3;
    int threads = 1;
};

// Prefills the sequences once, then times `repetitions` runs of `steps` decode steps (after one
// warm-up run); each run continues the sequences, so the context grows by `steps` a run.
// `split` (may be null) is the model's running deployment, for its transport counters. With DP
// groups (ChainExecutor::set_dp_groups) the sequences are dealt out to the groups, which step at
// once on threads of their own, taking turns on the front end as the engine's groups do.
BenchResult measure_decode(executor::ChainExecutor& chain, const runtime::SplitRuntime* split,
                           const DecodeBenchOptions& options);

}  // namespace ms::app
