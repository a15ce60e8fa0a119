#include "sim/deployment.h"

#include <algorithm>
#include <filesystem>

#include "placement/placement.h"
#include "sim/gguf_model.h"
#include "sim/yaml_fields.h"

namespace ms::sim {
namespace {

// `stored_weight_bytes` (> 0 for a GGUF model) is the default: the file's real weight size.
Precision load_precision(const placement::Field& f, const placement::Links& links,
                         double stored_weight_bytes) {
    placement::refuse_renamed(f, "activations", "activations: DTYPE at the top level");
    f.only_keys({"weights", "kv"});
    const auto dtype_bytes = [&](const char* key) {
        return f.has(key) ? placement::bytes(placement::parse_dtype(f.at(key))) : 2.0;
    };
    Precision p;
    p.weight_bytes =
        stored_weight_bytes > 0 && !f.has("weights") ? stored_weight_bytes : dtype_bytes("weights");
    p.dispatch_bytes = placement::bytes(links.activations.value_or(placement::Dtype::bf16));
    p.kv_bytes = dtype_bytes("kv");
    p.low_precision_matmul = p.weight_bytes < 2 && p.dispatch_bytes < 2;
    return p;
}

LengthDistribution load_length(const Fields& f, const char* key) {
    LengthDistribution d;
    if (f.has(key) && f.node()[key].IsMap()) {
        const Fields r = f.child(key);
        d.kind = LengthDistribution::Kind::uniform;
        d.min = r.count("min");
        d.max = r.count("max");
        if (d.max < d.min) r.fail("max", "smaller than min");
    } else {
        d.min = d.max = f.count(key);
    }
    return d;
}

Workload load_workload(const Fields& f) {
    Workload w;
    w.requests = f.count("requests");
    w.arrival_rate = f.has("arrival_rate") ? f.positive("arrival_rate") : 0;
    w.input = load_length(f, "input_tokens");
    w.output = load_length(f, "output_tokens");
    w.seed = static_cast<uint64_t>(f.count_or("seed", 1));
    return w;
}

ExpertBalance load_balance(const Fields& f) {
    ExpertBalance b;
    if (!f.has("expert_balance")) return b;
    if (f.node()["expert_balance"].IsMap()) {
        b.kind = ExpertBalance::Kind::hot;
        b.hot_load = f.child("expert_balance").positive("hot_load");
        if (b.hot_load < 1) f.fail("expert_balance", "hot_load must be >= 1");
        return b;
    }
    const std::string kind = f.text("expert_balance");
    if (kind == "perfect")
        b.kind = ExpertBalance::Kind::perfect;
    else if (kind != "random")
        f.fail("expert_balance", "expected perfect, random or {hot_load: x}");
    return b;
}

void load_moe_placement(const placement::Field& pool, const placement::Placement& placed,
                        const ModelSpec& m, PoolSpec& p) {
    if (!m.is_moe()) return;
    if (!placed.moe) pool.fail("missing field 'moe' (model " + m.name + " has experts)");
    p.ep = placed.moe->ep;
    p.redundant_experts = placed.moe->redundant_experts;
    p.shared_replicas = placed.moe->shared_replicas;
    const std::string& file = pool.file();
    const int capacity = p.disaggregated_ffn() ? p.expert_devices : p.devices;
    if (p.ep > capacity)
        placement::fail_at(file, placed.moe->ep_origin,
                           std::to_string(p.ep) + " is larger than the " +
                               std::to_string(capacity) + " devices that can hold experts");
    if ((m.routed_experts + p.redundant_experts + p.shared_replicas) % p.ep != 0)
        placement::fail_at(
            file, placed.moe->ep_origin,
            "routed + redundant experts + shared replicas (" +
                std::to_string(m.routed_experts + p.redundant_experts + p.shared_replicas) +
                ") must spread evenly over " + std::to_string(p.ep) + " devices");
    if (p.shared_replicas > 0 && m.shared_experts == 0)
        placement::fail_at(file, placed.moe->shared_replicas_origin,
                           "model " + m.name + " has no shared expert");
}

// Attention-FFN disaggregation: `roles` whose replicas are devices, attention in some and
// experts in the others. No roles: every device runs both.
void load_disaggregation(const placement::Placement& placed, const std::string& file, PoolSpec& p) {
    for (const placement::Role& role : placed.roles) {
        const bool attention = role.holds(placement::UnitKind::attention);
        const bool experts = role.holds(placement::UnitKind::moe);
        if (attention == experts)
            placement::fail_at(file, role.origin,
                               "the simulator disaggregates attention from experts: a role holds "
                               "attention or moe, not both or neither");
        (attention ? p.attention_devices : p.expert_devices) += role.replicas;
    }
    if (!placed.roles.empty() && (p.attention_devices == 0 || p.expert_devices == 0 ||
                                  p.attention_devices + p.expert_devices != p.devices))
        placement::fail_at(file, placed.roles_origin,
                           "replicas of the attention roles plus those of the moe roles must "
                           "equal devices, both at least 1");
}

void check_attention_layout(const Fields& f, PoolSpec& p) {
    const int attention_devices = p.disaggregated_ffn() ? p.attention_devices : p.devices;
    if (p.dp * p.tp != attention_devices)
        f.fail("attention", "dp x tp = " + std::to_string(p.dp * p.tp) + " but " +
                                std::to_string(attention_devices) + " devices run attention");
}

PoolSpec load_pool(const Fields& pools, const placement::Field& placed_pools, const char* role,
                   const Deployment& d) {
    PoolSpec p;
    if (!pools.has(role)) return p;
    const Fields f = pools.child(role);
    const placement::Field pool = placed_pools.at(role);
    std::vector<std::string> keys = placement::kPlacementKeys;
    keys.insert(keys.end(), {"devices", "batch_per_group", "token_budget"});
    const placement::Placement placed = placement::parse_placement(pool);
    pool.only_keys(keys);
    p.enabled = true;
    p.name = role;
    p.instances = placed.instances;
    p.devices = f.count("devices");
    load_disaggregation(placed, pool.file(), p);
    p.dp = placed.dp;
    p.tp = placed.tp;
    check_attention_layout(f, p);
    load_moe_placement(pool, placed, d.model, p);
    p.micro_batches = placed.micro_batches;
    p.batch_per_group = f.count("batch_per_group");
    const bool is_decode = std::string(role) == "decode";
    const int default_budget = is_decode ? p.batch_per_group * (1 + d.mtp_layers)
                                         : p.batch_per_group * d.workload.input.max;
    p.token_budget = f.count_or("token_budget", default_budget);
    if (p.token_budget < 1) f.fail("token_budget", "must be >= 1");
    return p;
}

void load_pools(const Fields& root, const placement::Field& placed_root, Deployment& d) {
    const Fields pools = root.child("pools");
    const placement::Field placed_pools = placed_root.at("pools");
    d.prefill = load_pool(pools, placed_pools, "prefill", d);
    d.decode = load_pool(pools, placed_pools, "decode", d);
    if (!d.decode.enabled && !d.prefill.enabled)
        pools.fail("decode", "need a prefill or decode pool");
    if (d.devices() > d.system.devices)
        root.fail("pools", "uses " + std::to_string(d.devices()) + " devices but " + d.system.name +
                               " has " + std::to_string(d.system.devices));
}

// `model: NAME` from the catalog, or `model: {gguf: PATH}` with PATH relative to `base_dir`.
LoadedModel load_any_model(const Fields& root, const std::string& catalog_dir,
                           const std::filesystem::path& base_dir) {
    if (!root.has("model") || !root.node()["model"].IsMap())
        return {load_model(catalog_dir, root.text("model")), 0};
    const std::filesystem::path file = root.child("model").text("gguf");
    const std::filesystem::path resolved = file.is_absolute() ? file : base_dir / file;
    try {
        return load_gguf_model(resolved.string());
    } catch (const ConfigError& e) {
        throw ConfigError(root.path("model.gguf") + ": " + e.what());
    }
}

Deployment build(const YAML::Node& node, const std::string& origin, const std::string& catalog_dir,
                 const std::filesystem::path& base_dir) {
    const Fields root(node, "");
    const placement::Field placed_root(node, origin, "");
    const placement::Links links = placement::parse_links(placed_root);
    if (links.transport)
        placement::fail_at(origin, links.transport_origin,
                           "the simulator's links come from the hardware, not a transport");
    Deployment d;
    d.name = root.text_or("name", origin);
    d.system = load_system(catalog_dir, root.text("hardware"));
    const LoadedModel model = load_any_model(root, catalog_dir, base_dir);
    d.model = model.spec;
    d.precision =
        load_precision(root.has("precision")
                           ? placed_root.at("precision").expect_map()
                           : placement::Field(YAML::Node(YAML::NodeType::Map), origin, "precision"),
                       links, model.weight_bytes_per_param);
    if (root.has("mtp")) {
        const Fields mtp = root.child("mtp");
        d.mtp_layers = mtp.count_or("layers", 0);
        d.mtp_acceptance = mtp.fraction_or("acceptance", 0);
        if (d.mtp_layers > d.model.mtp_layers)
            mtp.fail("layers", "model " + d.model.name + " has " +
                                   std::to_string(d.model.mtp_layers) + " MTP layers");
    }
    d.balance = load_balance(root);
    d.workload = load_workload(root.child("workload"));
    const double sched_ms =
        root.has("scheduler")
            ? root.child("scheduler").positive_or("overhead_ms", d.system.device.eff.scheduling_ms)
            : d.system.device.eff.scheduling_ms;
    d.scheduling_s = sched_ms * 1e-3;
    load_pools(root, placed_root, d);
    return d;
}

}  // namespace

int PoolSpec::expert_slots_per_device(const ModelSpec& m) const {
    return (m.routed_experts + redundant_experts + shared_replicas) / ep;
}

int Deployment::devices() const {
    int n = 0;
    for (const PoolSpec* p : {&prefill, &decode})
        if (p->enabled) n += p->instances * p->devices;
    return n;
}

Deployment load_deployment(const std::string& file, const std::string& catalog_dir) {
    const YAML::Node node = load_yaml_file(file);
    try {
        return build(node, file, catalog_dir, std::filesystem::path(file).parent_path());
    } catch (const placement::DeploymentError& e) {  // names the file already
        throw ConfigError(e.what());
    } catch (const ConfigError& e) {
        throw ConfigError(file + ": " + e.what());
    }
}

Deployment parse_deployment(const std::string& yaml_text, const std::string& catalog_dir) {
    YAML::Node node;
    try {
        node = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw ConfigError(e.what());
    }
    try {
        return build(node, "deployment", catalog_dir, ".");
    } catch (const placement::DeploymentError& e) {
        throw ConfigError(e.what());
    }
}

}  // namespace ms::sim
