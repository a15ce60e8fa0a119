// The expert endpoints of a MoE model, provided by whoever runs the model (the server does not
// know the runtime): GET /v1/experts (tokens per expert and their skew per MoE layer, the
// placement of expert-parallel layers), POST /v1/experts/rebalance, and the per-expert counters
// appended to /metrics.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace ms::server {

class ExpertEndpoints {
public:
    virtual ~ExpertEndpoints() = default;
    virtual nlohmann::json report() const = 0;
    // body: the request's JSON text. Throws ApiError for a request that cannot be done.
    virtual nlohmann::json rebalance(const std::string& body) = 0;
    // Prometheus text; `model` is the model_name="..." label.
    virtual std::string metrics(const std::string& model) const = 0;
};

}  // namespace ms::server
