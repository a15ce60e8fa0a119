// Live placement of the expert-parallel layers of a running split deployment: which expert
// workers hold which experts, and moves (or copies) asked for while serving. Moves are queued and
// handed to the layers' routers at the start of the next engine step, so every step runs with one
// placement; each router then tells its workers, which view the new experts' weights in the
// mapped file (expert_host.h).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/unit.h"
#include "runtime/experts/expert_router.h"
#include "runtime/experts/expert_stats.h"

namespace ms::runtime {

class ExpertRebalancer {
public:
    // worker_names[rank] names each transport rank; routers are the expert-parallel layers.
    ExpertRebalancer(std::vector<std::string> worker_names, std::map<int, ExpertRouter*> routers,
                     int n_layer);

    // Per expert worker, its experts of every layer (none for layers not expert-parallel), with
    // the queued moves applied.
    std::vector<WorkerExperts> placement() const;
    // Whether queued moves wait for the next step.
    bool pending() const;
    // Checks the moves against placement() and queues them. Throws std::invalid_argument naming
    // a move that does not fit (no such worker, expert not held, layer not expert-parallel).
    void move(const std::vector<ExpertMove>& moves);
    // At a step boundary, on the thread running the model: gives the routers their new placement.
    void apply_pending();

private:
    transport::ExpertPlacement layer_placement(const std::vector<WorkerExperts>& placement,
                                               int layer) const;

    std::map<std::string, int> rank_of_;
    std::map<int, ExpertRouter*> routers_;  // their placements are the engine thread's
    int n_expert_ = 0;
    mutable std::mutex mutex_;
    std::vector<WorkerExperts> placement_;
    std::map<int, transport::ExpertPlacement> queued_;  // by layer
};

// Wraps the first unit of the chain so that queued moves take effect before each step.
std::unique_ptr<model::Unit> apply_moves_at_step_start(std::unique_ptr<model::Unit> first,
                                                       ExpertRebalancer& rebalancer);

}  // namespace ms::runtime
