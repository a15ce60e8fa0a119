// The workers of one deployment for one model: their plans and the transport addresses that
// join them (worker i of the plans is rank i of the transport).
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/deployment/deployment.h"
#include "transport/transport.h"

namespace ms::runtime {

struct WorkerGroup {
    Deployment deployment;
    std::vector<WorkerPlan> plans;
    transport::PeerTable peers;
    size_t front_end = 0;  // the worker holding the embedding, which runs the chain
};

// Loads and checks the deployment against the model. inproc_hub names the in-process hub when
// the deployment's transport is inproc. Throws DeploymentError when the file is bad, does not
// fit the model, or asks for what is not run yet (several attention workers).
WorkerGroup plan_group(const std::string& deployment_file, const model::HParams& hp,
                       const std::string& inproc_hub);

// The index of role/replica among the plans; throws DeploymentError listing the roles.
size_t find_worker(const WorkerGroup& group, const std::string& role, int replica);

// The units of the model's chain that worker `index` runs, by name (with a shared head, every
// holder of a part of it lists "head").
std::map<std::string, size_t> units_of_worker(const model::Model& model, const WorkerGroup& group,
                                              size_t index);

}  // namespace ms::runtime
