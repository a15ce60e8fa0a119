// Expert load statistics of a running MoE model, and live rebalancing of its expert-parallel
// layers, behind the server's expert endpoints (server/expert_endpoints.h).
#pragma once
#include <memory>
#include <vector>

#include "model/model.h"
#include "runtime/experts/expert_rebalance.h"
#include "runtime/experts/expert_stats.h"
#include "server/expert_endpoints.h"

namespace ms::app {

class ModelExpertEndpoints final : public server::ExpertEndpoints {
public:
    // Counts the tokens each MoE layer's router sends to each expert. Null for a dense model.
    // Call before a deployment starts, so that expert-parallel routers count as well.
    static std::unique_ptr<ModelExpertEndpoints> attach(const model::Model& model);
    // The live placement of a split deployment's expert-parallel layers (null: none).
    void set_rebalancer(runtime::ExpertRebalancer* rebalancer) { rebalancer_ = rebalancer; }
    const runtime::ExpertCounters& counters() const { return counters_; }

    // {"layers": [{"layer", "tokens", "tokens_per_expert", "skew" (max/mean), "hottest_expert"}],
    //  "worst_skew", and for a split deployment "placement" and "rebalance_pending"}
    nlohmann::json report() const override;
    // Body {} plans moves from the counts (plan_rebalance; "max_moves", "allow_replication"
    // optional); {"moves": [{"layer", "expert", "from", "to", "kind": "move"|"replicate"}]}
    // asks for these. The moves take effect at the next engine step.
    nlohmann::json rebalance(const std::string& body) override;
    std::string metrics(const std::string& model) const override;

private:
    ModelExpertEndpoints(std::vector<int> layers, int n_layer, int n_expert);

    std::vector<int> layers_;  // the MoE layers
    runtime::ExpertCounters counters_;
    runtime::ExpertRebalancer* rebalancer_ = nullptr;
};

}  // namespace ms::app
