// Tokens routed to each expert of each MoE layer: cheap thread-safe counters, a skew report, and
// a planner that proposes moving or replicating hot experts so the MoE workers' loads even out.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/moe.h"

namespace ms::runtime {

// A snapshot of the counters: count(layer, expert) tokens.
struct ExpertCounts {
    int n_layer = 0;
    int n_expert = 0;
    std::vector<uint64_t> tokens;  // layer-major

    uint64_t count(int layer, int expert) const {
        return tokens[static_cast<size_t>(layer) * static_cast<size_t>(n_expert) +
                      static_cast<size_t>(expert)];
    }
};

// Written by the MoE units on every step from many threads; relaxed atomics, no locks.
class ExpertCounters final : public model::RoutingObserver {
public:
    ExpertCounters(int n_layer, int n_expert);

    // One token per choice (a MoE router's decisions for one batch).
    void observe(int64_t layer, std::span<const model::ExpertChoice> choices) override;
    // One token per entry of `experts` (a routing's chosen expert ids, e.g. tokens x top-k).
    // Ids outside [0, n_expert) are ignored, so a bad id never corrupts memory.
    void add_routing(int layer, std::span<const int32_t> experts);
    void add(int layer, int expert, uint64_t tokens);
    ExpertCounts snapshot() const;
    void reset();

private:
    int n_layer_;
    int n_expert_;
    std::unique_ptr<std::atomic<uint64_t>[]> tokens_;
};

struct HotExpert {
    int layer = 0;
    int expert = 0;
    uint64_t tokens = 0;
};

struct LayerSkew {
    int layer = 0;
    uint64_t tokens = 0;
    double max_over_mean = 0;  // 1 = perfectly even; 0 for a layer that saw no tokens
    HotExpert hottest;
};

struct SkewReport {
    std::vector<LayerSkew> layers;
    std::vector<HotExpert> hottest;  // over all layers, most tokens first
    double worst_max_over_mean = 0;
};

SkewReport skew_report(const ExpertCounts& counts, size_t top_experts);
std::string format_skew(const SkewReport& report);

// The experts one MoE worker holds, per layer.
struct WorkerExperts {
    std::string worker;
    std::vector<std::vector<int>> experts_by_layer;  // [layer] -> expert ids
};

struct ExpertMove {
    enum class Kind { move, replicate };
    Kind kind = Kind::move;
    int layer = 0;
    int expert = 0;
    std::string from;  // the worker that sheds load (keeps its copy when replicating)
    std::string to;
};

struct RebalanceOptions {
    size_t max_moves = 8;
    // Most expert copies (over all layers) a worker may hold; 0 = no limit.
    size_t max_experts_per_worker = 0;
    bool allow_replication = true;
    // Stop once the busiest worker is within this factor of the mean load.
    double target_max_over_mean = 1.05;
};

struct RebalancePlan {
    std::vector<ExpertMove> moves;
    std::vector<WorkerExperts> placement;  // after the moves
    std::vector<double> load_before;       // tokens per worker, in placement order
    std::vector<double> load_after;
    double max_over_mean_before = 0;
    double max_over_mean_after = 0;
};

// Tokens per worker, each expert's tokens split evenly over its copies (how dispatch spreads
// them).
std::vector<double> worker_loads(const ExpertCounts& counts,
                                 const std::vector<WorkerExperts>& placement);

// Greedy: repeatedly take the action (move one expert, or add a copy of it, from the busiest
// worker to another) that lowers the busiest worker's load most. Pure; throws
// std::invalid_argument when the placement does not match the counts.
RebalancePlan plan_rebalance(const ExpertCounts& counts, const std::vector<WorkerExperts>& current,
                             const RebalanceOptions& options = {});

// The placement after `moves` (each from a worker holding the expert to one that does not).
// Throws std::invalid_argument naming the first move that does not fit.
std::vector<WorkerExperts> apply_moves(std::vector<WorkerExperts> placement,
                                       const std::vector<ExpertMove>& moves);

}  // namespace ms::runtime
