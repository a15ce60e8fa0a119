// The OpenAI-compatible API over one engine: routes, authentication, request validation,
// metrics and health. Transport-free: it sees HttpRequest and ResponseChannel only.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "engine/engine.h"
#include "server/auth.h"
#include "server/expert_endpoints.h"
#include "server/http_exchange.h"
#include "server/metrics.h"
#include "server/request_parser.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/vocab.h"

namespace ms::server {

struct ServiceConfig {
    std::string model_name;
    tok::ChatTemplate chat_template;
    ApiKeys api_keys;
    // Keys for admin routes (POST /v1/experts/rebalance); without any, those routes are open
    // to loopback clients only.
    ApiKeys admin_keys;
    RequestLimits limits;
    std::chrono::milliseconds request_timeout{0};  // 0: none; else finish_reason "length"
    // Longest wait in the engine's queue before 503 with Retry-After; 0: no bound.
    std::chrono::milliseconds max_queue_wait{30'000};
    std::chrono::milliseconds sse_keepalive{15'000};  // see JobContext::keepalive
    ExpertEndpoints* experts = nullptr;               // null: no /v1/experts (a dense model)
    // Why the model cannot run requests now ("" when it can), e.g. a worker of a split
    // deployment is being relaunched: new requests get 503 with Retry-After meanwhile.
    std::function<std::string()> unavailable;
    // More /metrics samples (a split deployment's runtime: runtime_metrics.h), given the model's
    // label; null: none.
    std::function<std::string(const std::string& model_label)> runtime_metrics;
};

class OpenAiService {
public:
    OpenAiService(engine::Engine& engine, const tok::Vocab& vocab, ServiceConfig config);

    // Call on the connection's executor.
    void handle(HttpRequest request, std::shared_ptr<ResponseChannel> channel);
    // From now on /health and new API requests get 503.
    void begin_drain() { draining_ = true; }

private:
    void route(const HttpRequest& request, const std::shared_ptr<ResponseChannel>& channel);
    void require_key(const HttpRequest& request) const;
    void require_admin(const HttpRequest& request) const;
    void require_serving() const;
    std::string unavailable() const;
    void start_completion(Endpoint endpoint, const HttpRequest& request,
                          const std::shared_ptr<ResponseChannel>& channel);
    HttpResponse health() const;
    nlohmann::json model_card() const;
    HttpResponse models() const;
    HttpResponse model(const std::string& name) const;
    HttpResponse experts(const HttpRequest& request, const std::string& path) const;

    engine::Engine& engine_;
    const tok::Vocab& vocab_;
    ServiceConfig config_;
    ServerMetrics metrics_;
    int64_t created_;
    std::atomic<bool> draining_{false};
};

}  // namespace ms::server
