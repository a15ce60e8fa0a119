// Setting up the front end's expert-parallel MoE layers (docs/deployment.md, "Expert
// parallelism"): layers whose experts several workers hold route in the front end and reach the
// experts through the expert exchange.
#pragma once
#include <map>
#include <memory>

#include "model/model.h"
#include "runtime/deployment/worker_group.h"
#include "runtime/experts/expert_rebalance.h"
#include "runtime/workers/remote_unit.h"

namespace ms::runtime {

// Throws DeploymentError when an expert-parallel layer cannot run: its attention (so its router)
// is not in the front end, or the front end holds some of its experts.
void check_expert_parallel_layers(const model::Model& model, const WorkerGroup& group);

// Replaces each expert-parallel MoE unit of the front end's chain by an ExpertRouter over
// `transport` (the front end's), reaching the expert workers through `workers` (by rank), and
// returns the live placement of those layers, which takes effect at each step's start (the
// chain's first unit is wrapped for that). Null when no layer is expert-parallel.
std::unique_ptr<ExpertRebalancer> install_expert_routers(
    model::Model& model, const WorkerGroup& group, transport::Transport& transport,
    const std::map<int, WorkerConnection*>& workers);

}  // namespace ms::runtime
