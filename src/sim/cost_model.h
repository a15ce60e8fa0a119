// Time of one synchronized step of a pool instance: a roofline per operator against the
// device's peaks and the hardware's efficiency factors, communication as latency plus
// size / bandwidth, and micro-batch overlap of compute with communication.
#pragma once
#include <array>
#include <span>

#include "sim/deployment.h"

namespace ms::sim {

enum class OpClass { attention, matmul, dispatch, combine, other };
inline constexpr int kOpClasses = 5;
const char* op_class_name(OpClass c);

struct Breakdown {
    std::array<double, kOpClasses> seconds{};

    double& operator[](OpClass c) { return seconds[static_cast<int>(c)]; }
    double operator[](OpClass c) const { return seconds[static_cast<int>(c)]; }
    double total() const;
    Breakdown& operator+=(const Breakdown& o);
};

// The work one data-parallel group does in a step. Context sums are over the tokens computed
// (each token attends to that many earlier tokens) and over decoding sequences (KV read once).
struct GroupLoad {
    double decode_tokens = 0;
    double decode_context = 0;  // sum over decode tokens of their context length
    double decode_kv = 0;       // sum over decoding sequences of their KV length
    double prefill_tokens = 0;
    double prefill_context = 0;  // sum over prompt tokens of their context length
    double logits = 0;           // tokens that need next-token logits

    double tokens() const { return decode_tokens + prefill_tokens; }
    GroupLoad scaled(double f) const;
};

struct StepCost {
    double seconds = 0;  // device time, overlap included, scheduling excluded
    Breakdown ops;       // each class summed as if run alone (before overlap)
    double flops = 0;    // on the busiest device
    int micro_batches = 1;
};

class CostModel {
public:
    CostModel(const Deployment& d, const PoolSpec& pool);

    // One step of an instance whose DP groups carry `groups` (one entry per group).
    StepCost step(std::span<const GroupLoad> groups) const;

    // Building blocks, public for tests. Roofline: max of compute and memory time.
    double matmul_time(double flops, double weight_bytes) const;
    double attention_time(double flops, double bytes) const;
    // One all-to-all in which the busiest device moves `bytes`.
    double all_to_all_time(double bytes) const;
    double busiest_expert_load(double total_tokens) const;  // token-expert pairs
    double kv_bytes_per_token() const;                      // all layers, one attention device
    double weight_bytes_per_device() const;

private:
    struct Stages {                 // one layer of one micro-batch
        double attention_side = 0;  // attention, projections, local FFN, vector work
        double expert_side = 0;     // routed experts when they run on separate devices
        double comm = 0;
        Breakdown ops;
        double flops = 0;
    };
    Stages layer(const GroupLoad& g, double global_tokens, bool moe) const;
    void add_attention(const GroupLoad& g, Stages& s) const;
    void add_moe(const GroupLoad& g, double global_tokens, Stages& s) const;
    void add_matmul(double tokens, double params, Stages& s, bool expert_side = false) const;
    StepCost step_with(const GroupLoad& g, double global_tokens, int micro_batches) const;
    double attention_side_alone(const GroupLoad& g) const;

    const Deployment& d_;
    const PoolSpec& pool_;
    const Link& ep_link_;
};

}  // namespace ms::sim
