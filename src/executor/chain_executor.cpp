#include "executor/chain_executor.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include "executor/compute_turn.h"

namespace ms::executor {
namespace {

void check_lanes(int micro_batches, int dp_groups) {
    if (micro_batches < 1 || micro_batches > model::kMaxMicroBatches)
        throw std::invalid_argument("micro-batches must be 1.." +
                                    std::to_string(model::kMaxMicroBatches) + ", not " +
                                    std::to_string(micro_batches));
    if (dp_groups < 1 || dp_groups * micro_batches > model::kMaxMicroBatches)
        throw std::invalid_argument("DP groups times micro-batches must be at most " +
                                    std::to_string(model::kMaxMicroBatches) + ", not " +
                                    std::to_string(dp_groups) + " x " +
                                    std::to_string(micro_batches));
}

}  // namespace

struct ChainExecutor::UnitClock {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> nanoseconds{0};
};

ChainExecutor::ChainExecutor(model::Model& model) : model_(model) {}

ChainExecutor::~ChainExecutor() = default;

void ChainExecutor::forward(const model::Batch& batch, ThreadPool* pool, model::Activations& logits,
                            int dp_group) {
    if (dp_group < 0 || dp_group >= dp_groups_)
        throw std::invalid_argument("executor: no DP group " + std::to_string(dp_group));
    const ComputeTurn::Held turn(turn_.get());
    // With DP groups every step goes through the pipeline, which lends the turn while it waits.
    if (micro_batches_ > 1 || turn_) {
        const std::vector<MicroBatch> slices = split_into_micro_batches(batch, micro_batches_);
        if (slices.size() > 1 || turn_) {
            UnitTimer timer;
            if (unit_clocks_)
                timer = [this](size_t unit, uint64_t calls, uint64_t ns) {
                    record_unit_time(unit, calls, ns);
                };
            const PipelineSharing sharing{dp_group * micro_batches_, turn_.get()};
            return run_micro_batches(model_.units(), batch, slices, pool, logits, pipeline_,
                                     sharing, timer);
        }
    }
    if (!unit_clocks_) return model_.forward(batch, pool, logits);
    forward_timed({batch, pool}, logits);
}

void ChainExecutor::forward_timed(const model::StepContext& ctx, model::Activations& logits) {
    using Clock = std::chrono::steady_clock;
    const auto units = model_.units();
    for (size_t i = 0; i < units.size(); ++i) {
        const auto start = Clock::now();
        units[i]->forward(ctx, logits);
        record_unit_time(i, 1, uint64_t(std::chrono::nanoseconds(Clock::now() - start).count()));
    }
}

void ChainExecutor::record_unit_time(size_t unit, uint64_t calls, uint64_t nanoseconds) {
    unit_clocks_[unit].calls.fetch_add(calls, std::memory_order_relaxed);
    unit_clocks_[unit].nanoseconds.fetch_add(nanoseconds, std::memory_order_relaxed);
}

void ChainExecutor::set_micro_batches(int n) {
    check_lanes(n, dp_groups_);
    micro_batches_ = n;
}

void ChainExecutor::set_dp_groups(int n) {
    check_lanes(micro_batches_, n);
    dp_groups_ = n;
    turn_ = n > 1 ? std::make_unique<ComputeTurn>(pipeline_.bubble_nanoseconds) : nullptr;
}

void ChainExecutor::time_units() {
    if (!unit_clocks_) unit_clocks_ = std::make_unique<UnitClock[]>(model_.units().size());
}

std::vector<UnitTime> ChainExecutor::unit_times() const {
    std::vector<UnitTime> times;
    for (size_t i = 0; unit_clocks_ && i < model_.units().size(); ++i)
        times.push_back({unit_clocks_[i].calls.load(std::memory_order_relaxed),
                         unit_clocks_[i].nanoseconds.load(std::memory_order_relaxed)});
    return times;
}

}  // namespace ms::executor
