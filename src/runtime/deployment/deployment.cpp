#include "runtime/deployment/deployment.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "model/unit.h"

namespace ms::runtime {
namespace {

// The runtime runs one pool: the placement keys sit at the top level of its file.
Deployment build(const YAML::Node& node, const std::string& file) {
    if (node.IsNull()) fail_at(file, {"", 1, 1}, "empty file: expected a map with 'roles'");
    const placement::Field root = placement::Field(node, file, "").expect_map();
    const placement::Links links = placement::parse_links(root);
    const placement::Placement pool = placement::parse_placement(root);
    std::vector<std::string> keys = {"name"};
    keys.insert(keys.end(), placement::kLinkKeys.begin(), placement::kLinkKeys.end());
    keys.insert(keys.end(), placement::kPlacementKeys.begin(), placement::kPlacementKeys.end());
    root.only_keys(keys);
    if (pool.instances != 1) fail_at(file, pool.instances_origin, "one instance is run");
    if (pool.tp != 1) fail_at(file, pool.tp_origin, "attention tensor parallelism is not run");
    if (pool.moe)
        fail_at(file, pool.moe_origin,
                "the runtime places experts by role: {moe: {experts: [...]}} in a role's units");
    if (!root.has("roles")) root.fail("missing field 'roles'");
    Deployment d;
    d.file = file;
    d.name = root.has("name") ? root.at("name").text() : file;
    d.transport = links.transport.value_or(Transport::inproc);
    d.micro_batches = pool.micro_batches;
    if (d.micro_batches > model::kMaxMicroBatches)
        fail_at(file, pool.micro_batches_origin,
                "at most " + std::to_string(model::kMaxMicroBatches) + " micro-batches, got " +
                    std::to_string(d.micro_batches));
    d.dp_groups = pool.dp;
    if (d.dp_groups * d.micro_batches > model::kMaxMicroBatches)
        fail_at(file, pool.dp_origin,
                "DP groups times micro-batches must be at most " +
                    std::to_string(model::kMaxMicroBatches) + ", got " +
                    std::to_string(d.dp_groups) + " x " + std::to_string(d.micro_batches));
    const placement::Dtype activations = links.activations.value_or(placement::Dtype::f32);
    if (activations != placement::Dtype::f32 && activations != placement::Dtype::int8)
        fail_at(file, links.activations_origin,
                std::string("expected f32 or int8, got '") + name(activations) + "'");
    d.int8_activations = activations == placement::Dtype::int8;
    d.roles = pool.roles;
    d.roles_origin = pool.roles_origin;
    return d;
}

}  // namespace

Deployment parse_deployment(const std::string& yaml_text, const std::string& origin_name) {
    YAML::Node node;
    try {
        node = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        fail_at(origin_name, {"", e.mark.line + 1, e.mark.column + 1}, e.msg);
    }
    return build(node, origin_name);
}

Deployment load_deployment(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw DeploymentError(file + ": cannot open file");
    std::stringstream text;
    text << in.rdbuf();
    return parse_deployment(text.str(), file);
}

Deployment colocated_deployment(const model::HParams& hp) {
    Role all;
    all.name = "colocated";
    const UnitKind kinds[] = {UnitKind::embedding, UnitKind::attention,
                              hp.n_expert > 0 ? UnitKind::moe : UnitKind::ffn, UnitKind::head};
    all.units.resize(std::size(kinds));
    for (size_t i = 0; i < std::size(kinds); ++i) all.units[i].kind = kinds[i];
    Deployment d;
    d.name = "colocated";
    d.file = "(built-in colocated deployment)";
    d.roles.push_back(std::move(all));
    return d;
}

}  // namespace ms::runtime
