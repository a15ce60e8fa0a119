#include "runtime/deployment/unit_placement.h"

#include <algorithm>
#include <regex>

namespace ms::runtime {
namespace {

bool holds_layer(const std::vector<int>& layers, int layer) {
    return std::find(layers.begin(), layers.end(), layer) != layers.end();
}

const LayerExperts* experts_of_layer(const WorkerPlan& p, int layer) {
    const auto it = std::find_if(p.moe_experts.begin(), p.moe_experts.end(),
                                 [&](const LayerExperts& e) { return e.layer == layer; });
    return it == p.moe_experts.end() ? nullptr : &*it;
}

bool holds_moe_layer(const WorkerPlan& p, int layer) {
    return experts_of_layer(p, layer) != nullptr;
}

size_t moe_holders(const std::vector<WorkerPlan>& plans, int layer) {
    return size_t(std::count_if(plans.begin(), plans.end(),
                                [&](const WorkerPlan& p) { return holds_moe_layer(p, layer); }));
}

template <typename Holds>
size_t only_holder(const std::vector<WorkerPlan>& plans, const std::string& unit, Holds holds) {
    std::vector<size_t> holders;
    for (size_t i = 0; i < plans.size(); ++i)
        if (holds(plans[i])) holders.push_back(i);
    if (holders.empty()) throw DeploymentError("deployment: no worker runs unit " + unit);
    if (holders.size() > 1)
        throw DeploymentError("deployment: unit " + unit + " is spread over " +
                              plans[holders[0]].name + " and " + plans[holders[1]].name +
                              ": replicas are not run yet");
    return holders[0];
}

// blk.N.KIND: a layer's unit, all of which add their output to the residual stream.
const std::regex& layer_unit() {
    static const std::regex pattern(R"(blk\.(\d+)\.(attn|attn_mla|ffn|moe))");
    return pattern;
}

}  // namespace

size_t unit_owner(const std::string& unit_name, const std::vector<WorkerPlan>& plans) {
    if (unit_name == "embed")
        return only_holder(plans, unit_name, [](const WorkerPlan& p) { return p.embedding; });
    if (unit_name == "head")
        return only_holder(plans, unit_name, [](const WorkerPlan& p) { return p.head; });
    std::smatch m;
    if (!std::regex_match(unit_name, m, layer_unit()))
        throw DeploymentError("deployment: unit " + unit_name + " has no place in a deployment");
    const int layer = std::stoi(m[1]);
    const std::string kind = m[2];
    if (kind == "ffn")
        return only_holder(plans, unit_name,
                           [&](const WorkerPlan& p) { return holds_layer(p.ffn_layers, layer); });
    // An expert-parallel layer's unit is its router, which runs with the layer's attention.
    if (kind == "moe" && moe_holders(plans, layer) <= 1)
        return only_holder(plans, unit_name,
                           [&](const WorkerPlan& p) { return holds_moe_layer(p, layer); });
    return only_holder(plans, unit_name,
                       [&](const WorkerPlan& p) { return holds_layer(p.attention_layers, layer); });
}

bool is_residual_unit(const std::string& unit_name) {
    return std::regex_match(unit_name, layer_unit());
}

bool is_expert_parallel(const std::vector<WorkerPlan>& plans, int layer) {
    return moe_holders(plans, layer) > 1;
}

transport::ExpertPlacement expert_placement(const std::vector<WorkerPlan>& plans, int layer,
                                            int n_expert) {
    std::vector<std::vector<int>> ranks(static_cast<size_t>(n_expert));
    for (size_t i = 0; i < plans.size(); ++i)
        if (const LayerExperts* held = experts_of_layer(plans[i], layer))
            for (int e : held->experts) ranks.at(size_t(e)).push_back(int(i));
    return transport::ExpertPlacement(std::move(ranks));
}

std::vector<int> experts_held(const WorkerPlan& plan, int layer) {
    const LayerExperts* held = experts_of_layer(plan, layer);
    return held ? held->experts : std::vector<int>{};
}

}  // namespace ms::runtime
