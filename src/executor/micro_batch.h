// Micro-batch pipelining of a unit chain: a step's batch is cut into slices of whole sequences
// that move through the chain in turn, so while one slice waits for a unit in another worker
// (Unit::begin/end) the front end runs the next slice's local units (xDeepServe's ping-pong of
// attention and FFN/MoE). Slices never share a sequence, so a sequence's tokens see the same
// KV cache and produce the same bits as in the whole batch.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/unit.h"

namespace ms::executor {

class ComputeTurn;

// One slice of a batch: its own Batch (same block tables and sequence indices) and, per token of
// the slice, its index in the whole batch.
struct MicroBatch {
    model::Batch batch;
    std::vector<int64_t> batch_row;
};

// At most n slices of whole sequences with about equal tokens each, in sequence order; fewer
// when the batch has fewer sequences (one sequence: one slice, the batch itself).
std::vector<MicroBatch> split_into_micro_batches(const model::Batch& batch, int n);

// Totals since start, safe to read from any thread while steps run.
struct PipelineCounters {
    std::atomic<uint64_t> steps{0};  // steps run as several micro-batches or DP groups
    std::atomic<uint64_t> micro_batches{0};
    std::atomic<uint64_t> step_nanoseconds{0};
    // Time the front end sat waiting for a unit in another worker with no other slice (or, with
    // DP groups, no other group) to run.
    std::atomic<uint64_t> bubble_nanoseconds{0};
};

// Called after each begin (calls 1) and end (calls 0) with the unit's chain index and the time
// the call took: a unit's time is what the front end spent starting it and waiting for it.
using UnitTimer = std::function<void(size_t unit, uint64_t calls, uint64_t nanoseconds)>;

// How one step shares the chain with the steps of other attention DP groups in flight.
struct PipelineSharing {
    // The slices are the units' micro-batches first_micro_batch.. (each group has its own).
    int first_micro_batch = 0;
    // Held by the caller; lent while a slice waits for a unit in another worker. Null: the step
    // has the front end to itself.
    ComputeTurn* turn = nullptr;
};

// Runs the chain but its last unit on the slices in turn (each slice begins its next unit after
// its previous one ended), then the last unit (the head) once on every slice's rows put back in
// the batch's order: the head's weights, the largest matrix, are read once per step rather than
// once per slice, and the logits come out in the batch's order. A unit that throws fails the step
// once every other slice's begun unit has ended (no reply is left behind).
void run_micro_batches(std::span<const std::unique_ptr<model::Unit>> units,
                       const model::Batch& batch, std::span<const MicroBatch> slices,
                       ThreadPool* pool, model::Activations& logits, PipelineCounters& counters,
                       const PipelineSharing& sharing = {}, const UnitTimer& timer = {});

}  // namespace ms::executor
