#include "runtime/experts/expert_parallel.h"

#include "runtime/deployment/unit_placement.h"
#include "runtime/experts/expert_host.h"

namespace ms::runtime {

void check_expert_parallel_layers(const model::Model& model, const WorkerGroup& group) {
    const WorkerPlan& front = group.plans[group.front_end];
    for (const auto& [layer, moe] : moe_layers(model)) {
        if (!is_expert_parallel(group.plans, layer)) continue;
        if (unit_owner(moe->name(), group.plans) != group.front_end)
            throw DeploymentError("deployment: the router of expert-parallel layer " +
                                  std::to_string(layer) + " must run in the front end " +
                                  front.name + ": place that layer's attention there");
        if (!experts_held(front, layer).empty())
            throw DeploymentError("deployment: the front end " + front.name +
                                  " holds experts of expert-parallel layer " +
                                  std::to_string(layer) +
                                  ": with experts over several workers, place them all in expert "
                                  "workers (not run yet)");
    }
}

namespace {

size_t chain_index(const model::Model& model, const model::Unit* unit) {
    const auto chain = model.units();
    for (size_t i = 0; i < chain.size(); ++i)
        if (chain[i].get() == unit) return i;
    throw std::logic_error("a MoE layer is not in the chain");
}

}  // namespace

std::unique_ptr<ExpertRebalancer> install_expert_routers(
    model::Model& model, const WorkerGroup& group, transport::Transport& transport,
    const std::map<int, WorkerConnection*>& workers) {
    const int n_expert = int(model.hparams().n_expert);
    const auto options = exchange_options(group.deployment);
    std::map<int, ExpertRouter*> routers;
    for (const auto& [layer, moe] : moe_layers(model)) {
        if (!is_expert_parallel(group.plans, layer)) continue;
        const size_t index = chain_index(model, moe);
        // The router takes the colocated unit over: it routes with its weights.
        std::unique_ptr<model::MoeLayer> colocated(
            static_cast<model::MoeLayer*>(model.replace_unit(index, nullptr).release()));
        auto router = std::make_unique<ExpertRouter>(std::move(colocated), transport,
                                                     expert_placement(group.plans, layer, n_expert),
                                                     options, workers);
        routers.emplace(layer, router.get());
        model.replace_unit(index, std::move(router));
    }
    if (routers.empty()) return nullptr;
    std::vector<std::string> names;
    for (const WorkerPlan& p : group.plans) names.push_back(p.name);
    auto rebalancer = std::make_unique<ExpertRebalancer>(std::move(names), std::move(routers),
                                                         int(model.hparams().n_layer));
    model.replace_unit(0, apply_moves_at_step_start(model.replace_unit(0, nullptr), *rebalancer));
    return rebalancer;
}

}  // namespace ms::runtime
