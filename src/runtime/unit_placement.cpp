#include "runtime/unit_placement.h"

#include <algorithm>
#include <regex>

namespace ms::runtime {
namespace {

bool holds_layer(const std::vector<int>& layers, int layer) {
    return std::find(layers.begin(), layers.end(), layer) != layers.end();
}

bool holds_moe_layer(const WorkerPlan& p, int layer) {
    return std::any_of(p.moe_experts.begin(), p.moe_experts.end(),
                       [&](const LayerExperts& e) { return e.layer == layer; });
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
                              ": replicas and expert parallelism are not run yet");
    return holders[0];
}

}  // namespace

size_t unit_owner(const std::string& unit_name, const std::vector<WorkerPlan>& plans) {
    if (unit_name == "embed")
        return only_holder(plans, unit_name, [](const WorkerPlan& p) { return p.embedding; });
    if (unit_name == "head")
        return only_holder(plans, unit_name, [](const WorkerPlan& p) { return p.head; });
    static const std::regex layer_unit(R"(blk\.(\d+)\.(attn|attn_mla|ffn|moe))");
    std::smatch m;
    if (!std::regex_match(unit_name, m, layer_unit))
        throw DeploymentError("deployment: unit " + unit_name + " has no place in a deployment");
    const int layer = std::stoi(m[1]);
    const std::string kind = m[2];
    if (kind == "ffn")
        return only_holder(plans, unit_name,
                           [&](const WorkerPlan& p) { return holds_layer(p.ffn_layers, layer); });
    if (kind == "moe")
        return only_holder(plans, unit_name,
                           [&](const WorkerPlan& p) { return holds_moe_layer(p, layer); });
    return only_holder(plans, unit_name,
                       [&](const WorkerPlan& p) { return holds_layer(p.attention_layers, layer); });
}

}  // namespace ms::runtime
