#include "runtime/deployment/worker_group.h"

#include <algorithm>

#include "runtime/deployment/unit_placement.h"

namespace ms::runtime {
namespace {

std::string transport_address(Transport transport, const std::string& address,
                              const std::string& inproc_hub) {
    switch (transport) {
        case Transport::inproc:
            return "inproc://" + inproc_hub;
        case Transport::shm:
            return "shm://" + address;
        case Transport::ucx:
            return "ucx://" + address;
    }
    return {};
}

size_t single_front_end(const std::vector<WorkerPlan>& plans) {
    const auto holds_attention = [](const WorkerPlan& p) { return !p.attention_layers.empty(); };
    const auto attention_workers = std::count_if(plans.begin(), plans.end(), holds_attention);
    if (attention_workers > 1)
        throw DeploymentError("deployment: attention runs in " + std::to_string(attention_workers) +
                              " workers; only one attention worker (the front end) is run yet");
    const auto front =
        std::find_if(plans.begin(), plans.end(), [](const WorkerPlan& p) { return p.embedding; });
    return size_t(front - plans.begin());  // plan_workers guarantees one holder of the embedding
}

}  // namespace

WorkerGroup plan_group(const std::string& deployment_file, const model::HParams& hp,
                       const std::string& inproc_hub) {
    WorkerGroup group;
    group.deployment = load_deployment(deployment_file);
    group.plans = plan_workers(group.deployment, hp);
    group.front_end = single_front_end(group.plans);
    if (!group.plans[group.front_end].launch)
        throw DeploymentError(deployment_file + ": role " + group.plans[group.front_end].role +
                              " holds the embedding, so it is the front end (serve, generate): "
                              "'launch: false' cannot apply to it");
    for (const WorkerPlan& p : group.plans)
        group.peers.addresses.push_back(
            transport_address(group.deployment.transport, p.address, inproc_hub));
    return group;
}

size_t find_worker(const WorkerGroup& group, const std::string& role, int replica) {
    std::string roles;
    for (size_t i = 0; i < group.plans.size(); ++i) {
        const WorkerPlan& p = group.plans[i];
        if (p.role == role && p.replica == replica) return i;
        if (p.replica == 0) roles += (roles.empty() ? "" : ", ") + p.role;
    }
    const bool role_exists = std::any_of(group.plans.begin(), group.plans.end(),
                                         [&](const WorkerPlan& p) { return p.role == role; });
    if (role_exists)
        throw DeploymentError(group.deployment.file + ": role " + role + " has no replica " +
                              std::to_string(replica));
    throw DeploymentError(group.deployment.file + ": no role '" + role + "' (roles: " + roles +
                          ")");
}

std::map<std::string, size_t> units_of_worker(const model::Model& model, const WorkerGroup& group,
                                              size_t index) {
    std::map<std::string, size_t> units;
    const auto chain = model.units();
    for (size_t i = 0; i < chain.size(); ++i) {
        const std::string name = chain[i]->name();
        // A shared head has several holders, each running its part.
        const bool holds =
            name == "head" ? group.plans[index].head : unit_owner(name, group.plans) == index;
        if (holds) units.emplace(name, i);
    }
    return units;
}

}  // namespace ms::runtime
