#include "executor/micro_batch.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>

#include "executor/compute_turn.h"

namespace ms::executor {
namespace {

using model::Activations;
using model::Batch;
using model::StepContext;
using model::Unit;

using Clock = std::chrono::steady_clock;

uint64_t nanoseconds_since(Clock::time_point start) {
    return uint64_t(std::chrono::nanoseconds(Clock::now() - start).count());
}

// Which slice each sequence goes to: sequences in order of first appearance fill a slice until
// it holds its share of the tokens, and every slice gets at least one.
std::map<int32_t, size_t> assign_sequences(const Batch& batch, int n) {
    std::vector<int32_t> order;
    std::map<int32_t, int64_t> tokens_of;
    for (int32_t s : batch.seq)
        if (tokens_of[s]++ == 0) order.push_back(s);
    const size_t n_slices = std::min(size_t(std::max(n, 1)), order.size());
    std::map<int32_t, size_t> slice_of;
    size_t slice = 0;
    int64_t filled = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        slice_of[order[i]] = slice;
        filled += tokens_of[order[i]];
        const size_t unplaced = order.size() - i - 1;
        const size_t slices_after = n_slices - slice - 1;
        const bool full = filled * int64_t(n_slices) >= batch.size() * int64_t(slice + 1);
        if (slices_after > 0 && (full || unplaced == slices_after)) ++slice;
    }
    return slice_of;
}

struct Lane {
    const MicroBatch* slice = nullptr;
    Activations x;
    size_t next_unit = 0;  // the unit to begin next
    bool begun = false;    // units[next_unit - 1] is running (begun and not ended)
};

class Pipeline {
public:
    Pipeline(std::span<const std::unique_ptr<Unit>> units, std::span<const MicroBatch> slices,
             ThreadPool* pool, const PipelineSharing& sharing, const UnitTimer& timer)
        : units_(units),
          lane_units_(units.size() - 1),
          pool_(pool),
          sharing_(sharing),
          timer_(timer),
          lanes_(slices.size()) {
        for (size_t j = 0; j < slices.size(); ++j) lanes_[j].slice = &slices[j];
    }

    // Each round, every unfinished slice ends its running unit and goes on through the chain
    // (but its last unit) until a unit keeps running (in another worker) or its part ends.
    void run() {
        try {
            for (bool running = true; running;) {
                running = false;
                for (size_t j = 0; j < lanes_.size(); ++j) {
                    if (lanes_[j].begun) end(j);
                    while (!lanes_[j].begun && lanes_[j].next_unit < lane_units_) begin(j);
                    running = running || lanes_[j].begun;
                }
            }
        } catch (...) {
            drain();
            throw;
        }
    }

    // The chain's last unit on every slice's rows, back in the batch's order.
    void run_last_unit(const Batch& batch, Activations& x) const {
        if (lanes_.empty()) return x.resize(0, 0);  // an empty batch
        x.resize(batch.size(), lanes_.front().x.cols);
        const size_t row_bytes = size_t(x.cols) * sizeof(float);
        for (const Lane& lane : lanes_)
            for (size_t k = 0; k < lane.slice->batch_row.size(); ++k)
                std::memcpy(x.row(lane.slice->batch_row[k]), lane.x.row(int64_t(k)), row_bytes);
        const auto start = Clock::now();
        // Through begin/end on this group's first micro-batch (every slice is done with it), in
        // case the unit runs in a worker.
        Unit& unit = *units_[lane_units_];
        const StepContext ctx{batch, pool_, sharing_.turn};
        if (unit.begin(ctx, x, micro_batch(0))) {
            const ComputeTurn::Lent lent(sharing_.turn, false);
            unit.end(x, micro_batch(0));
        }
        if (timer_) timer_(lane_units_, 1, nanoseconds_since(start));
    }

    uint64_t bubble_nanoseconds() const { return bubble_; }

private:
    void begin(size_t j) {
        Lane& lane = lanes_[j];
        const size_t unit = lane.next_unit++;
        const auto start = Clock::now();
        lane.begun =
            units_[unit]->begin({lane.slice->batch, pool_, sharing_.turn}, lane.x, micro_batch(j));
        if (timer_) timer_(unit, 1, nanoseconds_since(start));
        // A group whose tokens came back from a worker sends them on before this one goes on.
        if (!lane.begun && sharing_.turn) sharing_.turn->yield(lane.next_unit < lane_units_);
    }

    void end(size_t j) {
        Lane& lane = lanes_[j];
        lane.begun = false;
        const auto start = Clock::now();
        {
            // Back from its last remote unit, a slice has only the head left to run.
            const bool feeds_worker_after = lane.next_unit < lane_units_;
            const ComputeTurn::Lent lent(sharing_.turn, feeds_worker_after);  // idle = bubble
            units_[lane.next_unit - 1]->end(lane.x, micro_batch(j));
        }
        const uint64_t waited = nanoseconds_since(start);
        if (!sharing_.turn) bubble_ += waited;
        if (timer_) timer_(lane.next_unit - 1, 0, waited);
    }

    // After a failure: every begun unit is ended so no reply is left for a later step.
    void drain() {
        for (size_t j = 0; j < lanes_.size(); ++j) {
            if (!lanes_[j].begun) continue;
            lanes_[j].begun = false;
            try {
                units_[lanes_[j].next_unit - 1]->end(lanes_[j].x, micro_batch(j));
            } catch (...) {
                // The step fails with the first error.
            }
        }
    }

    int micro_batch(size_t lane) const { return sharing_.first_micro_batch + int(lane); }

    std::span<const std::unique_ptr<Unit>> units_;
    size_t lane_units_;  // the units each slice runs on its own: all but the last
    ThreadPool* pool_;
    const PipelineSharing& sharing_;
    const UnitTimer& timer_;
    std::vector<Lane> lanes_;
    uint64_t bubble_ = 0;
};

}  // namespace

std::vector<MicroBatch> split_into_micro_batches(const Batch& batch, int n) {
    const std::map<int32_t, size_t> slice_of = assign_sequences(batch, n);
    size_t n_slices = 0;
    for (const auto& [seq, slice] : slice_of) n_slices = std::max(n_slices, slice + 1);
    std::vector<MicroBatch> slices(n_slices);
    for (MicroBatch& m : slices) {
        m.batch.block_tables = batch.block_tables;
        m.batch.block_size = batch.block_size;
    }
    for (int64_t i = 0; i < batch.size(); ++i) {
        MicroBatch& m = slices[slice_of.at(batch.seq[size_t(i)])];
        m.batch.add(batch.tokens[size_t(i)], batch.pos[size_t(i)], batch.seq[size_t(i)],
                    batch.want_logits[size_t(i)] != 0);
        m.batch_row.push_back(i);
    }
    return slices;
}

void run_micro_batches(std::span<const std::unique_ptr<Unit>> units, const Batch& batch,
                       std::span<const MicroBatch> slices, ThreadPool* pool, Activations& logits,
                       PipelineCounters& counters, const PipelineSharing& sharing,
                       const UnitTimer& timer) {
    if (units.empty()) throw std::invalid_argument("micro-batches: an empty chain of units");
    const auto start = Clock::now();
    Pipeline pipeline(units, slices, pool, sharing, timer);
    pipeline.run();
    pipeline.run_last_unit(batch, logits);
    counters.steps.fetch_add(1, std::memory_order_relaxed);
    counters.micro_batches.fetch_add(slices.size(), std::memory_order_relaxed);
    counters.step_nanoseconds.fetch_add(nanoseconds_since(start), std::memory_order_relaxed);
    counters.bubble_nanoseconds.fetch_add(pipeline.bubble_nanoseconds(), std::memory_order_relaxed);
}

}  // namespace ms::executor
