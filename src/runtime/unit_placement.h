// Which worker of a deployment runs each unit of a model's chain, by the unit's name.
#pragma once
#include <string>
#include <vector>

#include "runtime/deployment.h"

namespace ms::runtime {

// The index in plans of the worker that runs the unit named e.g. "embed", "blk.3.attn",
// "blk.3.ffn", "blk.3.moe" or "head". Throws DeploymentError for a unit no single worker runs
// whole (experts of one layer spread over several workers: expert parallelism is not run yet).
size_t unit_owner(const std::string& unit_name, const std::vector<WorkerPlan>& plans);

}  // namespace ms::runtime
