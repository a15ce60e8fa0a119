// Which worker of a deployment runs each unit of a model's chain, by the unit's name.
#pragma once
#include <string>
#include <vector>

#include "runtime/deployment/deployment.h"
#include "transport/expert_placement.h"

namespace ms::runtime {

// The index in plans of the worker that runs the unit named e.g. "embed", "blk.3.attn",
// "blk.3.ffn", "blk.3.moe" or "head". The unit of an expert-parallel MoE layer is its router,
// run by the worker holding the layer's attention. Throws DeploymentError for a unit no single
// worker runs (replicas are not run yet).
size_t unit_owner(const std::string& unit_name, const std::vector<WorkerPlan>& plans);

// Whether the unit adds its output to the residual stream (attention, FFN, MoE layers; not the
// embedding or head): only those may run with int8 activations in transit, as a delta.
bool is_residual_unit(const std::string& unit_name);

// Whether the experts of MoE layer `layer` are held by several workers (spread, or with
// redundant copies): then its router dispatches tokens to them through the expert exchange.
bool is_expert_parallel(const std::vector<WorkerPlan>& plans, int layer);

// Expert e of the layer -> the plan indices (transport ranks) holding a copy.
transport::ExpertPlacement expert_placement(const std::vector<WorkerPlan>& plans, int layer,
                                            int n_expert);

// The experts of `layer` the worker holds (empty if none).
std::vector<int> experts_held(const WorkerPlan& plan, int layer);

}  // namespace ms::runtime
