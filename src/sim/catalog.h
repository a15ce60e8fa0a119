// Hardware and model catalogs: the numbers the cost model runs on, loaded from
// data/catalog/*.yaml (each number there cites its source).
#pragma once
#include <stdexcept>
#include <string>

namespace ms::sim {

// A bad catalog or deployment file; the message names the offending field.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One set per device type; see data/catalog/hardware.yaml for what each factor means.
struct Efficiency {
    double matmul_compute = 1;
    double attention_compute = 1;
    double memory = 1;
    double comm_bandwidth = 1;
    double comm_latency_us = 0;
    double other_us_per_layer = 0;
    double scheduling_ms = 0;
};

struct DeviceSpec {
    std::string name;
    double bf16_flops = 0;  // per second
    double int8_flops = 0;
    double hbm_bytes = 0;
    double hbm_bytes_per_s = 0;
    int devices_per_chip = 1;
    Efficiency eff;
};

struct Link {
    double bytes_per_s = 0;  // per device, one direction
    double latency_s = 0;
};

struct SystemSpec {
    std::string name;
    DeviceSpec device;
    int devices = 1;
    int devices_per_node = 1;
    int scale_up_domain = 1;  // devices joined by the scale-up network
    Link scale_up;
    Link scale_out;

    const Link& link_for(int span_devices) const {
        return span_devices <= scale_up_domain ? scale_up : scale_out;
    }
};

enum class AttentionKind { mla, gqa };

struct ModelSpec {
    std::string name;
    int layers = 0;
    int hidden = 0;
    int vocab = 0;
    int dense_layers = 0;
    int dense_intermediate = 0;
    AttentionKind attention = AttentionKind::gqa;
    int heads = 0;
    int kv_heads = 0;  // gqa
    int head_dim = 0;  // gqa
    int q_lora_rank = 0, kv_lora_rank = 0, qk_nope_dim = 0, qk_rope_dim = 0, v_head_dim = 0;
    int routed_experts = 0;  // 0: dense model
    int shared_experts = 0;
    int top_k = 0;
    int expert_intermediate = 0;
    int mtp_layers = 0;

    bool is_moe() const { return routed_experts > 0; }
    int moe_layers() const { return is_moe() ? layers - dense_layers : 0; }
    double attention_params() const;  // per layer
    double dense_ffn_params() const { return 3.0 * hidden * dense_intermediate; }
    double expert_params() const { return 3.0 * hidden * expert_intermediate; }
    double kv_elements_per_token() const;  // per layer, whole model (before TP split)
};

// The catalog directory: $MS_CATALOG_DIR, else data/catalog of the source tree.
std::string default_catalog_dir();
SystemSpec load_system(const std::string& catalog_dir, const std::string& name);
ModelSpec load_model(const std::string& catalog_dir, const std::string& name);

}  // namespace ms::sim
