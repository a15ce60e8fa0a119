#include "sim/planner.h"

#include <fmt/format.h>

#include <algorithm>

#include "sim/cost_model.h"

namespace ms::sim {
namespace {

constexpr int kPrefillInstance = 32;  // EP32 prefill instances, as CloudMatrix-Infer runs them
constexpr int kBatches[] = {4, 8, 16, 24, 32, 48, 64, 96, 128};

// One expert slot per device where possible: shared-expert replicas, then redundant experts
// fill the EP group to a whole number of slots per device.
void place_experts(const ModelSpec& m, PoolSpec& p) {
    p.ep = p.devices;
    if (!m.is_moe()) return;
    p.shared_replicas = m.shared_experts > 0 && p.devices >= m.routed_experts + 32 ? 32 : 0;
    const int needed = m.routed_experts + p.shared_replicas;
    p.redundant_experts = (needed + p.ep - 1) / p.ep * p.ep - needed;
}

PoolSpec pool(const char* name, int devices, int instances, int batch, int budget, int micro) {
    PoolSpec p;
    p.enabled = true;
    p.name = name;
    p.instances = instances;
    p.devices = p.dp = devices;
    p.batch_per_group = batch;
    p.token_budget = budget;
    p.micro_batches = micro;
    return p;
}

struct PoolRate {
    double step_s = 0;
    double requests_per_s = 0;
    bool fits = true;  // weights and KV fit in device memory
};

PoolRate decode_rate(const Deployment& d) {
    const PoolSpec& p = d.decode;
    const CostModel cost(d, p);
    const double context = d.workload.input.mean() + d.workload.output.mean() / 2;
    const double tokens_per_seq = 1 + d.mtp_layers;
    GroupLoad g;
    g.decode_tokens = g.logits = p.batch_per_group * tokens_per_seq;
    g.decode_context = g.decode_tokens * (context + 1);
    g.decode_kv = p.batch_per_group * context;
    const std::vector<GroupLoad> loads(p.dp, g);
    PoolRate r;
    r.step_s = cost.step(loads).seconds + d.scheduling_s;
    const double tokens_per_s = p.dp * p.batch_per_group * (1 + d.mtp_acceptance) / r.step_s;
    r.requests_per_s = tokens_per_s / d.workload.output.mean();
    const double kv = p.batch_per_group * (d.workload.input.max + d.workload.output.max) *
                      cost.kv_bytes_per_token();
    r.fits = cost.weight_bytes_per_device() + kv <= d.system.device.hbm_bytes;
    return r;
}

PoolRate prefill_rate(const Deployment& d) {
    const PoolSpec& p = d.prefill;
    const CostModel cost(d, p);
    const double prompt = d.workload.input.mean();
    GroupLoad g;
    g.prefill_tokens = p.token_budget;
    g.prefill_context = p.token_budget * (prompt + 1) / 2;
    g.logits = p.token_budget / prompt;
    const std::vector<GroupLoad> loads(p.dp, g);
    PoolRate r;
    r.step_s = cost.step(loads).seconds + d.scheduling_s;
    r.requests_per_s = p.instances * p.dp * p.token_budget / prompt / r.step_s;
    r.fits = cost.weight_bytes_per_device() < d.system.device.hbm_bytes;
    return r;
}

void consider(Deployment d, int devices, const Slo& slo, std::vector<Plan>& out) {
    const PoolRate dec = decode_rate(d), pre = prefill_rate(d);
    const double tpot = dec.step_s / (1 + d.mtp_acceptance);
    const double ttft = 1.5 * pre.step_s;  // half a step queued on average, then a step
    if (!dec.fits || !pre.fits || tpot > slo.tpot_s || ttft > slo.ttft_s) return;
    Plan p;
    p.requests_per_s = std::min(dec.requests_per_s, pre.requests_per_s);
    p.goodput_per_device = p.requests_per_s * d.workload.output.mean() / devices;
    p.tpot_s = tpot, p.ttft_s = ttft;
    const bool decode_bound = dec.requests_per_s < pre.requests_per_s;
    p.why = fmt::format(
        "{}-bound ({:.0f} req/s decode, {:.0f} req/s prefill); TPOT {:.1f} ms of {:.0f}, "
        "TTFT {:.0f} ms of {:.0f}; {} micro-batch(es)",
        decode_bound ? "decode" : "prefill", dec.requests_per_s, pre.requests_per_s, tpot * 1e3,
        slo.tpot_s * 1e3, ttft * 1e3, slo.ttft_s * 1e3, d.decode.micro_batches);
    p.deployment = std::move(d);
    out.push_back(std::move(p));
}

}  // namespace

std::vector<Plan> plan_deployments(const Deployment& base, int devices, const Slo& slo,
                                   size_t keep) {
    std::vector<Plan> plans;
    const int prompt = static_cast<int>(base.workload.input.max);
    for (int instances = 1; instances * kPrefillInstance < devices; ++instances) {
        const int decode_devices = devices - instances * kPrefillInstance;
        for (int batch : kBatches)
            for (int micro : {1, 2}) {
                Deployment d = base;
                d.prefill = pool("prefill", kPrefillInstance, instances, std::max(1, 8192 / prompt),
                                 8192, 2);
                d.decode =
                    pool("decode", decode_devices, 1, batch, batch * (1 + d.mtp_layers), micro);
                place_experts(d.model, d.prefill);
                place_experts(d.model, d.decode);
                consider(std::move(d), devices, slo, plans);
            }
    }
    std::sort(plans.begin(), plans.end(), [](const Plan& a, const Plan& b) {
        return a.goodput_per_device > b.goodput_per_device;
    });
    if (plans.size() > keep) plans.resize(keep);
    return plans;
}

}  // namespace ms::sim
