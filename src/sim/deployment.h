// A deployment: which model runs on which hardware, split into which pools with what
// parallelism, under what workload. Loaded from YAML (format in docs/simulator.md).
#pragma once
#include <cstdint>
#include <string>

#include "sim/catalog.h"

namespace ms::sim {

// Bytes per element; whatever the deployment file leaves out is BF16.
struct Precision {
    double weight_bytes = 2;
    double dispatch_bytes = 2;  // activations sent to experts
    double combine_bytes = 2;   // expert outputs returned (BF16)
    double kv_bytes = 2;
    bool low_precision_matmul = false;  // INT8/FP8 weights and activations: GEMMs at int8 peak
};

// One pool: `instances` copies of a group of devices that step together.
struct PoolSpec {
    bool enabled = false;
    std::string name;
    int instances = 1;
    int devices = 0;            // per instance
    int dp = 1;                 // attention data-parallel groups per instance
    int tp = 1;                 // attention tensor parallelism inside a group
    int ep = 1;                 // devices holding experts
    int redundant_experts = 0;  // extra replicas of hot routed experts
    int shared_replicas = 0;    // shared-expert replicas placed among the EP devices (0: local)
    int attention_devices = 0;  // attention-FFN disaggregation: devices running attention
    int expert_devices = 0;     //   and devices running experts (both 0: colocated)
    int micro_batches = 1;      // at most this many overlapped micro-batches
    int batch_per_group = 1;    // max running requests per DP group
    int token_budget = 0;       // tokens per DP group per step

    bool disaggregated_ffn() const { return expert_devices > 0; }
    int expert_slots_per_device(const ModelSpec& m) const;
};

struct ExpertBalance {
    enum class Kind { perfect, random, hot } kind = Kind::random;
    double hot_load = 1;  // Kind::hot: load of the busiest expert device / mean
};

struct LengthDistribution {
    enum class Kind { fixed, uniform } kind = Kind::fixed;
    int min = 1;
    int max = 1;
    double mean() const { return 0.5 * (min + max); }
};

struct Workload {
    int64_t requests = 1;
    double arrival_rate = 0;  // requests per second, Poisson; 0: all arrive at once
    LengthDistribution input;
    LengthDistribution output;
    uint64_t seed = 1;
};

struct Deployment {
    std::string name;
    SystemSpec system;
    ModelSpec model;
    Precision precision;
    PoolSpec prefill;
    PoolSpec decode;
    int mtp_layers = 0;
    double mtp_acceptance = 0;
    ExpertBalance balance;
    double scheduling_s = 0;
    Workload workload;

    int devices() const;
    double chips() const { return double(devices()) / system.device.devices_per_chip; }
};

// A `model: {gguf: PATH}` is relative to the file's directory (for parse_deployment, to the
// current directory).
Deployment load_deployment(const std::string& file, const std::string& catalog_dir);
Deployment parse_deployment(const std::string& yaml_text, const std::string& catalog_dir);

}  // namespace ms::sim
