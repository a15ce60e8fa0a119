#include "sim/cost_model.h"

#include <algorithm>
#include <cmath>

namespace ms::sim {
namespace {

// Layers of one micro-batch run as a pipeline over `m` micro-batches: the slowest stage
// repeats m times, the others show once (fill and drain). m = 1 is the serial sum.
double pipelined(double a, double b, double c, int m) {
    const double slowest = std::max({a, b, c});
    return m * slowest + (a + b + c - slowest);
}

}  // namespace

const char* op_class_name(OpClass c) {
    static constexpr const char* names[kOpClasses] = {"attention", "matmul", "dispatch", "combine",
                                                      "other"};
    return names[static_cast<int>(c)];
}

double Breakdown::total() const {
    double t = 0;
    for (double s : seconds) t += s;
    return t;
}

Breakdown& Breakdown::operator+=(const Breakdown& o) {
    for (int i = 0; i < kOpClasses; ++i) seconds[i] += o.seconds[i];
    return *this;
}

GroupLoad GroupLoad::scaled(double f) const {
    return {decode_tokens * f,  decode_context * f,  decode_kv * f,
            prefill_tokens * f, prefill_context * f, logits * f};
}

CostModel::CostModel(const Deployment& d, const PoolSpec& pool)
    : d_(d), pool_(pool), ep_link_(d.system.link_for(pool.devices)) {}

double CostModel::matmul_time(double flops, double weight_bytes) const {
    const DeviceSpec& dev = d_.system.device;
    const double peak = d_.precision.low_precision_matmul ? dev.int8_flops : dev.bf16_flops;
    return std::max(flops / (peak * dev.eff.matmul_compute),
                    weight_bytes / (dev.hbm_bytes_per_s * dev.eff.memory));
}

double CostModel::attention_time(double flops, double bytes) const {
    const DeviceSpec& dev = d_.system.device;
    return std::max(flops / (dev.bf16_flops * dev.eff.attention_compute),
                    bytes / (dev.hbm_bytes_per_s * dev.eff.memory));
}

double CostModel::all_to_all_time(double bytes) const {
    const Efficiency& e = d_.system.device.eff;
    return e.comm_latency_us * 1e-6 + ep_link_.latency_s +
           bytes / (ep_link_.bytes_per_s * e.comm_bandwidth);
}

double CostModel::busiest_expert_load(double total_tokens) const {
    const ModelSpec& m = d_.model;
    const int slots = pool_.expert_slots_per_device(m);
    double per_routed_slot = total_tokens * m.top_k / (m.routed_experts + pool_.redundant_experts);
    switch (d_.balance.kind) {
        case ExpertBalance::Kind::perfect:
            break;
        case ExpertBalance::Kind::hot:
            per_routed_slot *= d_.balance.hot_load;
            break;
        case ExpertBalance::Kind::random: {
            // Tokens pick experts independently: the busiest of `ep` devices sits about
            // sqrt(2 ln ep) standard deviations (sqrt of the mean) above the mean.
            const double mean = per_routed_slot * slots;
            const double busiest = mean + std::sqrt(2 * std::log(double(pool_.ep)) * mean);
            per_routed_slot = busiest / slots;
        }
    }
    double busiest = per_routed_slot * slots;
    if (pool_.shared_replicas > 0) {
        const double shared = total_tokens * m.shared_experts / pool_.shared_replicas;
        busiest = std::max(busiest, shared + per_routed_slot * (slots - 1));
    }
    return busiest;
}

void CostModel::add_matmul(double tokens, double params, Stages& s, bool expert_side) const {
    const double flops = 2 * tokens * params;
    const double t = matmul_time(flops, params * d_.precision.weight_bytes);
    s.ops[OpClass::matmul] += t;
    (expert_side ? s.expert_side : s.attention_side) += t;
    s.flops += flops;
}

void CostModel::add_attention(const GroupLoad& g, Stages& s) const {
    const ModelSpec& m = d_.model;
    const double heads = double(m.heads) / pool_.tp;
    add_matmul(g.tokens(), m.attention_params() / pool_.tp, s);
    double flops = 0, kv_elements = 0;
    if (m.attention == AttentionKind::mla) {
        const double latent = m.kv_lora_rank + m.qk_rope_dim;
        // Decode attends in the latent space (weights absorbed); prefill expands K and V.
        flops = g.decode_context * 2 * heads * (latent + m.kv_lora_rank) +
                g.prefill_context * 2 * heads * (m.qk_nope_dim + m.qk_rope_dim + m.v_head_dim);
        kv_elements = (g.decode_kv + g.prefill_tokens) * latent;
    } else {
        const double kv_heads = std::max(1.0, double(m.kv_heads) / pool_.tp);
        flops = (g.decode_context + g.prefill_context) * 4 * heads * m.head_dim;
        kv_elements = (g.decode_kv + g.prefill_tokens) * 2 * kv_heads * m.head_dim;
    }
    const double t = attention_time(flops, kv_elements * d_.precision.kv_bytes);
    const double other = d_.system.device.eff.other_us_per_layer * 1e-6;
    s.ops[OpClass::attention] += t;
    s.ops[OpClass::other] += other;
    s.attention_side += t + other;
    s.flops += flops;
    if (pool_.tp > 1) {  // all-reduce of the attention output inside the TP group
        const double bytes = 2.0 * g.tokens() * m.hidden * 2 * (pool_.tp - 1) / pool_.tp;
        const double ar = all_to_all_time(bytes);
        s.ops[OpClass::other] += ar;
        s.comm += ar;
    }
}

void CostModel::add_moe(const GroupLoad& g, double global_tokens, Stages& s) const {
    const ModelSpec& m = d_.model;
    const double h = m.hidden;
    add_matmul(g.tokens(), h * m.routed_experts, s);  // router
    if (pool_.shared_replicas == 0 && m.shared_experts > 0)
        add_matmul(g.tokens(), m.shared_experts * m.expert_params(), s);
    const double load = busiest_expert_load(global_tokens);
    const double flops = 2 * load * m.expert_params();
    const double weights = pool_.expert_slots_per_device(m) * m.expert_params();
    const double t = matmul_time(flops, weights * d_.precision.weight_bytes);
    s.ops[OpClass::matmul] += t;
    (pool_.disaggregated_ffn() ? s.expert_side : s.attention_side) += t;
    s.flops += flops;

    const double routes = m.top_k + (pool_.shared_replicas > 0 ? m.shared_experts : 0);
    const double pairs = std::max(g.tokens() * routes, load);  // sent vs received
    const double dispatch = all_to_all_time(pairs * h * d_.precision.dispatch_bytes);
    const double combine = all_to_all_time(pairs * h * d_.precision.combine_bytes);
    s.ops[OpClass::dispatch] += dispatch;
    s.ops[OpClass::combine] += combine;
    s.comm += dispatch + combine;
}

CostModel::Stages CostModel::layer(const GroupLoad& g, double global_tokens, bool moe) const {
    Stages s;
    add_attention(g, s);
    if (moe)
        add_moe(g, global_tokens, s);
    else
        add_matmul(g.tokens(), d_.model.dense_ffn_params() / pool_.tp, s);
    return s;
}

double CostModel::attention_side_alone(const GroupLoad& g) const {
    Stages s;
    add_attention(g, s);
    return s.attention_side;
}

StepCost CostModel::step_with(const GroupLoad& g, double global_tokens, int m) const {
    const ModelSpec& model = d_.model;
    const GroupLoad part = g.scaled(1.0 / m);
    const double part_tokens = global_tokens / m;
    StepCost c;
    c.micro_batches = m;
    auto add_layers = [&](const Stages& s, int count) {
        c.seconds += count * pipelined(s.attention_side, s.expert_side, s.comm, m);
        for (int i = 0; i < kOpClasses; ++i) c.ops.seconds[i] += count * m * s.ops.seconds[i];
        c.flops += count * m * s.flops;
    };
    add_layers(layer(part, part_tokens, false), model.dense_layers);
    // Draft (MTP) modules are one more MoE layer each, run when the step decodes.
    const int mtp = g.decode_tokens > 0 ? d_.mtp_layers : 0;
    if (model.is_moe()) add_layers(layer(part, part_tokens, true), model.moe_layers() + mtp);
    Stages head;
    add_matmul(g.logits * (1 + mtp), double(model.vocab) * model.hidden / pool_.tp, head);
    c.seconds += head.attention_side;
    c.ops += head.ops;
    c.flops += head.flops;
    return c;
}

StepCost CostModel::step(std::span<const GroupLoad> groups) const {
    const GroupLoad* busiest = nullptr;
    double busiest_time = -1, global_tokens = 0;
    for (const GroupLoad& g : groups) {
        global_tokens += g.tokens();
        const double t = attention_side_alone(g);
        if (t > busiest_time) busiest_time = t, busiest = &g;
    }
    if (!busiest || global_tokens == 0) return {};
    // The runtime splits a step into micro-batches only when that is faster.
    const int max_split = std::max(1, std::min<int>(pool_.micro_batches, busiest->tokens()));
    StepCost best = step_with(*busiest, global_tokens, 1);
    for (int m = 2; m <= max_split; ++m) {
        StepCost c = step_with(*busiest, global_tokens, m);
        if (c.seconds < best.seconds) best = c;
    }
    return best;
}

double CostModel::kv_bytes_per_token() const {
    const ModelSpec& m = d_.model;
    const double split = m.attention == AttentionKind::mla ? 1 : std::min(pool_.tp, m.kv_heads);
    return (m.layers + d_.mtp_layers) * m.kv_elements_per_token() / split * d_.precision.kv_bytes;
}

double CostModel::weight_bytes_per_device() const {
    const ModelSpec& m = d_.model;
    const int layers = m.layers + d_.mtp_layers;
    double params = layers * m.attention_params() / pool_.tp +
                    m.dense_layers * m.dense_ffn_params() / pool_.tp +
                    2.0 * m.vocab * m.hidden / pool_.tp;  // embedding and head
    if (m.is_moe() && !pool_.disaggregated_ffn()) {
        const int local_shared = pool_.shared_replicas == 0 ? m.shared_experts : 0;
        params += (layers - m.dense_layers) * (pool_.expert_slots_per_device(m) + local_shared) *
                  m.expert_params();
    }
    return params * d_.precision.weight_bytes;
}

}  // namespace ms::sim
