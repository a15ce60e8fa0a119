// A loaded model: the mapped GGUF file, its hyperparameters and the chain of units built by
// its architecture. Colocated execution runs the chain on one thread pool.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/hparams.h"
#include "model/unit.h"

namespace ms::kernels {
class StableWeights;
}

namespace ms::gguf {
class File;
}

namespace ms::model {

class ComputeTurn;
class KvHolder;
struct PipelineCounters;

// Calls of one unit of the chain and the wall time they took (time_units()).
struct UnitTime {
    uint64_t calls = 0;
    uint64_t nanoseconds = 0;
};

class Model {
public:
    // Maps the file, reads hyperparameters and builds the unit chain. Throws
    // std::runtime_error (or gguf::Error) naming what is wrong or missing.
    static std::unique_ptr<Model> load(const std::string& path);
    static std::unique_ptr<Model> from_file(gguf::File file);
    ~Model();

    const HParams& hparams() const { return hparams_; }
    const gguf::File& file() const { return *file_; }
    std::span<const std::unique_ptr<Unit>> units() const { return units_; }
    // Puts `unit` in place of the chain's unit at `index` and returns the one it replaces (the
    // runtime swaps in proxies for units that run in other workers).
    std::unique_ptr<Unit> replace_unit(size_t index, std::unique_ptr<Unit> unit);

    // Sizes every attention unit's KV store; block ids in batches index into it.
    void reserve_kv(int32_t n_blocks, int32_t block_size);
    int64_t kv_bytes_per_token() const;
    // The same if every query head cached full keys and values (KvHolder).
    int64_t uncompressed_kv_bytes_per_token() const;

    // Runs the whole chain on one batch; logits has one row per token that wants logits. With
    // several DP groups, each group's steps name their group and hold compute_turn().
    void forward(const Batch& batch, ThreadPool* pool, Activations& logits, int dp_group = 0);

    // From now on forward() times each unit (for a split deployment's metrics). Off by default,
    // so the colocated path runs the plain loop. Call before forward() runs anywhere.
    void time_units();
    // Per chain index since time_units() (calls that threw are not counted); empty while off.
    // Safe from any thread.
    std::vector<UnitTime> unit_times() const;

    // From now on each step with several sequences runs as up to n micro-batches that overlap
    // units in other workers (micro_batch.h); 1, the default, runs the chain whole. Call before
    // forward() runs anywhere.
    void set_micro_batches(int n);
    int micro_batches() const { return micro_batches_; }

    // From now on n attention data-parallel groups (each with its own requests and KV blocks)
    // run steps at once: while one waits for a unit in another worker, another computes. Their
    // steps take turns on the front end through compute_turn(), and each group's micro-batches
    // are its own (groups x micro-batches <= kMaxMicroBatches). Call before forward() runs.
    void set_dp_groups(int n);
    int dp_groups() const { return dp_groups_; }
    // Null with one group.
    ComputeTurn* compute_turn() const { return turn_.get(); }
    // Steps, micro-batches, step time and bubbles of the pipelined steps; safe from any thread.
    const PipelineCounters& pipeline_counters() const { return *pipeline_; }

private:
    Model() = default;
    int64_t sum_over_kv_holders(int64_t (KvHolder::*bytes)() const) const;
    void forward_timed(const StepContext& ctx, Activations& logits);
    void record_unit_time(size_t unit, uint64_t calls, uint64_t nanoseconds);
    struct UnitClock;
    std::unique_ptr<gguf::File> file_;
    // The file's tensors, registered so kernels may keep faster layouts of them (destroyed before
    // file_, which unmaps them).
    std::unique_ptr<kernels::StableWeights> stable_weights_;
    HParams hparams_;
    std::vector<std::unique_ptr<Unit>> units_;
    std::unique_ptr<UnitClock[]> unit_clocks_;  // one per unit while timing
    static void check_lanes(int micro_batches, int dp_groups);
    int micro_batches_ = 1;
    int dp_groups_ = 1;
    std::unique_ptr<PipelineCounters> pipeline_;
    std::unique_ptr<ComputeTurn> turn_;
};

// Architectures we can build, for error messages and `inspect`.
std::vector<std::string> supported_architectures();

}  // namespace ms::model
