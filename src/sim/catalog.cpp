#include "sim/catalog.h"

#include <cstdlib>

#include "sim/yaml_fields.h"

namespace ms::sim {
namespace {

// The entry `name` of table `section` in a catalog file; `what` names it in errors.
Fields entry(const std::string& file, const char* section, const char* what,
             const std::string& name) {
    const Fields table = Fields(load_yaml_file(file), file).child(section);
    if (!table.has(name.c_str()))
        throw ConfigError(std::string(what) + ": unknown '" + name + "' (not in " + file + ")");
    return table.child(name.c_str());
}

Efficiency load_efficiency(const Fields& f) {
    Efficiency e;
    e.matmul_compute = f.fraction_or("matmul_compute", 1);
    e.attention_compute = f.fraction_or("attention_compute", 1);
    e.memory = f.fraction_or("memory", 1);
    e.comm_bandwidth = f.fraction_or("comm_bandwidth", 1);
    e.comm_latency_us = f.positive_or("comm_latency_us", 0);
    e.other_us_per_layer = f.positive_or("other_us_per_layer", 0);
    e.scheduling_ms = f.positive_or("scheduling_ms", 0);
    for (double x : {e.matmul_compute, e.attention_compute, e.memory, e.comm_bandwidth})
        if (x == 0) throw ConfigError(f.path("*") + ": efficiency factors must be above 0");
    return e;
}

DeviceSpec load_device(const std::string& file, const std::string& name) {
    const Fields f = entry(file, "devices", "device", name);
    DeviceSpec d;
    d.name = name;
    d.bf16_flops = f.positive("bf16_tflops") * 1e12;
    d.int8_flops = f.positive("int8_tops") * 1e12;
    d.hbm_bytes = f.positive("hbm_gb") * 1e9;
    d.hbm_bytes_per_s = f.positive("hbm_tb_s") * 1e12;
    d.devices_per_chip = f.count_or("devices_per_chip", 1);
    d.eff = load_efficiency(f.child("efficiency"));
    return d;
}

Link load_link(const Fields& f) {
    return {f.positive("gb_s") * 1e9, f.positive_or("latency_us", 0) * 1e-6};
}

void load_attention(const Fields& f, ModelSpec& m) {
    const std::string kind = f.text("kind");
    m.heads = f.count("heads");
    if (kind == "mla") {
        m.attention = AttentionKind::mla;
        m.q_lora_rank = f.count("q_lora_rank");
        m.kv_lora_rank = f.count("kv_lora_rank");
        m.qk_nope_dim = f.count("qk_nope_dim");
        m.qk_rope_dim = f.count("qk_rope_dim");
        m.v_head_dim = f.count("v_head_dim");
    } else if (kind == "gqa") {
        m.attention = AttentionKind::gqa;
        m.kv_heads = f.count("kv_heads");
        m.head_dim = f.count("head_dim");
    } else {
        f.fail("kind", "expected mla or gqa, got '" + kind + "'");
    }
}

void load_moe(const Fields& f, ModelSpec& m) {
    m.routed_experts = f.count("routed_experts");
    m.shared_experts = f.count_or("shared_experts", 0);
    m.top_k = f.count("top_k");
    m.expert_intermediate = f.count("expert_intermediate");
    if (m.top_k > m.routed_experts) f.fail("top_k", "larger than routed_experts");
}

}  // namespace

double ModelSpec::attention_params() const {
    const double h = hidden;
    if (attention == AttentionKind::gqa) return h * head_dim * (2.0 * heads + 2.0 * kv_heads);
    const double q = h * q_lora_rank + double(q_lora_rank) * heads * (qk_nope_dim + qk_rope_dim);
    const double kv = h * (kv_lora_rank + qk_rope_dim) +
                      double(kv_lora_rank) * heads * (qk_nope_dim + v_head_dim);
    return q + kv + double(heads) * v_head_dim * h;
}

double ModelSpec::kv_elements_per_token() const {
    if (attention == AttentionKind::mla) return kv_lora_rank + qk_rope_dim;  // the latent cache
    return 2.0 * kv_heads * head_dim;
}

std::string default_catalog_dir() {
    if (const char* dir = std::getenv("MS_CATALOG_DIR")) return dir;
    return MS_DEFAULT_CATALOG_DIR;
}

SystemSpec load_system(const std::string& catalog_dir, const std::string& name) {
    const std::string file = catalog_dir + "/hardware.yaml";
    const Fields f = entry(file, "systems", "hardware", name);
    SystemSpec s;
    s.name = name;
    s.device = load_device(file, f.text("device"));
    s.devices = f.count("devices");
    s.devices_per_node = f.count("devices_per_node");
    s.scale_up_domain = f.count("scale_up_domain");
    s.scale_up = load_link(f.child("scale_up"));
    s.scale_out = load_link(f.child("scale_out"));
    return s;
}

ModelSpec load_model(const std::string& catalog_dir, const std::string& name) {
    const Fields f = entry(catalog_dir + "/models.yaml", "models", "model", name);
    ModelSpec m;
    m.name = name;
    m.layers = f.count("layers");
    m.hidden = f.count("hidden");
    m.vocab = f.count("vocab");
    m.dense_layers = f.count_or("dense_layers", 0);
    m.dense_intermediate = f.count("dense_intermediate");
    m.mtp_layers = f.count_or("mtp_layers", 0);
    load_attention(f.child("attention"), m);
    if (f.has("moe")) load_moe(f.child("moe"), m);
    if (m.dense_layers > m.layers) f.fail("dense_layers", "more than layers");
    if (!m.is_moe()) m.dense_layers = m.layers;
    return m;
}

}  // namespace ms::sim
