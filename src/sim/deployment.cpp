#include "sim/deployment.h"

#include <algorithm>
#include <filesystem>

#include "sim/gguf_model.h"
#include "sim/yaml_fields.h"

namespace ms::sim {
namespace {

double dtype_bytes(const Fields& f, const char* key, const std::string& fallback) {
    const std::string t = f.text_or(key, fallback);
    if (t == "int4") return 0.5;
    if (t == "int8" || t == "fp8") return 1;
    if (t == "bf16" || t == "fp16") return 2;
    f.fail(key, "expected int4, int8, fp8, bf16 or fp16, got '" + t + "'");
}

// `stored_weight_bytes` (> 0 for a GGUF model) is the default: the file's real weight size.
Precision load_precision(const Fields& f, double stored_weight_bytes) {
    Precision p;
    p.weight_bytes = stored_weight_bytes > 0 && !f.has("weights")
                         ? stored_weight_bytes
                         : dtype_bytes(f, "weights", "bf16");
    p.dispatch_bytes = dtype_bytes(f, "activations", "bf16");
    p.kv_bytes = dtype_bytes(f, "kv", "bf16");
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

void load_moe_placement(const Fields& pool, const ModelSpec& m, PoolSpec& p) {
    if (!m.is_moe()) return;
    const Fields f = pool.child("moe");
    p.ep = f.count("ep");
    p.redundant_experts = f.count_or("redundant_experts", 0);
    p.shared_replicas = f.count_or("shared_replicas", 0);
    const int capacity = p.disaggregated_ffn() ? p.expert_devices : p.devices;
    if (p.ep > capacity)
        f.fail("ep", std::to_string(p.ep) + " is larger than the " + std::to_string(capacity) +
                         " devices that can hold experts");
    if ((m.routed_experts + p.redundant_experts + p.shared_replicas) % p.ep != 0)
        f.fail("ep",
               "routed + redundant experts + shared replicas (" +
                   std::to_string(m.routed_experts + p.redundant_experts + p.shared_replicas) +
                   ") must spread evenly over " + std::to_string(p.ep) + " devices");
    if (p.shared_replicas > 0 && m.shared_experts == 0)
        f.fail("shared_replicas", "model " + m.name + " has no shared expert");
}

void check_attention_layout(const Fields& f, PoolSpec& p) {
    const int attention_devices = p.disaggregated_ffn() ? p.attention_devices : p.devices;
    if (p.dp * p.tp != attention_devices)
        f.fail("attention", "dp x tp = " + std::to_string(p.dp * p.tp) + " but " +
                                std::to_string(attention_devices) + " devices run attention");
}

PoolSpec load_pool(const Fields& pools, const char* role, const Deployment& d) {
    PoolSpec p;
    if (!pools.has(role)) return p;
    const Fields f = pools.child(role);
    p.enabled = true;
    p.name = role;
    p.instances = f.count_or("instances", 1);
    p.devices = f.count("devices");
    if (f.has("afd")) {
        const Fields afd = f.child("afd");
        p.attention_devices = afd.count("attention_devices");
        p.expert_devices = afd.count("expert_devices");
        if (p.attention_devices + p.expert_devices != p.devices)
            afd.fail("expert_devices", "attention_devices + expert_devices must equal devices");
    }
    const Fields attn = f.child("attention");
    p.dp = attn.count("dp");
    p.tp = attn.count_or("tp", 1);
    check_attention_layout(f, p);
    load_moe_placement(f, d.model, p);
    p.micro_batches = f.count_or("micro_batches", 1);
    p.batch_per_group = f.count("batch_per_group");
    const bool is_decode = std::string(role) == "decode";
    const int default_budget = is_decode ? p.batch_per_group * (1 + d.mtp_layers)
                                         : p.batch_per_group * d.workload.input.max;
    p.token_budget = f.count_or("token_budget", default_budget);
    if (p.token_budget < 1) f.fail("token_budget", "must be >= 1");
    return p;
}

void load_pools(const Fields& root, Deployment& d) {
    const Fields pools = root.child("pools");
    d.prefill = load_pool(pools, "prefill", d);
    d.decode = load_pool(pools, "decode", d);
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
    Deployment d;
    d.name = root.text_or("name", origin);
    d.system = load_system(catalog_dir, root.text("hardware"));
    const LoadedModel model = load_any_model(root, catalog_dir, base_dir);
    d.model = model.spec;
    d.precision =
        load_precision(root.has("precision") ? root.child("precision")
                                             : Fields(YAML::Node(YAML::NodeType::Map), "precision"),
                       model.weight_bytes_per_param);
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
    load_pools(root, d);
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
    return build(node, "deployment", catalog_dir, ".");
}

}  // namespace ms::sim
