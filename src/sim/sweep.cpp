#include "sim/sweep.h"

#include <algorithm>

namespace ms::sim {

std::vector<CurvePoint> batch_curve(const Deployment& d, const SimOptions& options) {
    std::vector<CurvePoint> curve;
    const PoolSpec& base = d.decode.enabled ? d.decode : d.prefill;
    for (double share : {0.125, 0.25, 0.5, 0.75, 1.0, 1.25}) {
        Deployment v = d;
        PoolSpec& pool = d.decode.enabled ? v.decode : v.prefill;
        pool.batch_per_group = std::max(1, static_cast<int>(base.batch_per_group * share));
        pool.token_budget = std::max(1, static_cast<int>(base.token_budget * share));
        v.workload.requests = 2LL * pool.batch_per_group * pool.dp * pool.instances;
        const SimResult r = simulate(v, options);
        const PoolReport& p = r.pools.back();
        curve.push_back({pool.batch_per_group, p.tokens_per_s / p.chips, r.tpot.mean});
    }
    return curve;
}

}  // namespace ms::sim
