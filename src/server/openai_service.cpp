#include "server/openai_service.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "server/api_error.h"
#include "server/completion_job.h"
#include "server/json_text.h"
#include "server/prompt_builder.h"

namespace ms::server {
namespace {

using nlohmann::json;

constexpr std::string_view models_prefix = "/v1/models/";
// Clients are told that the model is down, not which worker: the log names it.
constexpr const char* kUnavailableMessage =
    "The model is unavailable now (a worker is down and being restarted); retry later.";

HttpResponse json_response(int status, const json& body) {
    return {status, "application/json", dump_json(body), {}};
}

HttpResponse error_response(const ApiError& error) {
    return {error.status(), "application/json", error.to_json(), error.headers()};
}

void require_method(const HttpRequest& request, const char* method) {
    if (request.method != method) throw ApiError::method_not_allowed(request.method);
}

uint64_t random_seed() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng();
}

}  // namespace

OpenAiService::OpenAiService(engine::Engine& engine, const tok::Vocab& vocab, ServiceConfig config)
    : engine_(engine),
      vocab_(vocab),
      config_(std::move(config)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

void OpenAiService::handle(HttpRequest request, std::shared_ptr<ResponseChannel> channel) {
    try {
        route(request, channel);
    } catch (const ApiError& error) {
        channel->send(error_response(error));
    } catch (const std::exception& e) {
        // The text may name internals (workers, tensors): it goes to the log, not the client.
        std::fprintf(stderr, "matrixserve: %s %s failed: %s\n", request.method.c_str(),
                     request.target.substr(0, 200).c_str(), e.what());
        channel->send(error_response(ApiError::internal("Internal server error.")));
    }
}

void OpenAiService::route(const HttpRequest& request,
                          const std::shared_ptr<ResponseChannel>& channel) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path == "/health") {
        require_method(request, "GET");
        return channel->send(health());
    }
    if (path == "/metrics") {
        require_method(request, "GET");
        std::string text = metrics_.render(engine_.stats(), config_.model_name);
        const std::string label = model_label(config_.model_name);
        if (config_.experts) text += config_.experts->metrics(label);
        if (config_.runtime_metrics) text += config_.runtime_metrics(label);
        return channel->send({200, "text/plain; version=0.0.4; charset=utf-8", text, {}});
    }
    if (path == "/v1/experts" || path == "/v1/experts/rebalance") {
        if (path == "/v1/experts")
            require_key(request);
        else
            require_admin(request);
        return channel->send(experts(request, path));
    }
    if (path == "/v1/models" || path.starts_with(models_prefix)) {
        require_method(request, "GET");
        require_key(request);
        return channel->send(path == "/v1/models" ? models()
                                                  : model(path.substr(models_prefix.size())));
    }
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
        require_method(request, "POST");
        require_key(request);
        require_serving();
        return start_completion(
            path == "/v1/chat/completions" ? Endpoint::Chat : Endpoint::Completion, request,
            channel);
    }
    throw ApiError::not_found("No route " + request.method + " " + path + ".", "unknown_url");
}

void OpenAiService::require_key(const HttpRequest& request) const {
    if (!config_.api_keys.allows(request.authorization)) throw ApiError::unauthorized();
}

void OpenAiService::require_admin(const HttpRequest& request) const {
    if (config_.admin_keys.enabled()) {
        if (!config_.admin_keys.allows(request.authorization)) throw ApiError::unauthorized();
    } else if (!request.from_loopback) {
        throw ApiError::forbidden(
            "This admin route is open to loopback clients only; start the server with "
            "--admin-key-file to allow others.");
    }
}

void OpenAiService::require_serving() const {
    if (draining_) throw ApiError::draining();
    if (!unavailable().empty()) throw ApiError::unavailable(kUnavailableMessage);
}

std::string OpenAiService::unavailable() const {
    return config_.unavailable ? config_.unavailable() : std::string();
}

void OpenAiService::start_completion(Endpoint endpoint, const HttpRequest& request,
                                     const std::shared_ptr<ResponseChannel>& channel) {
    const auto arrival = std::chrono::steady_clock::now();
    ParsedRequest parsed = parse_request(endpoint, request.body, config_.limits);
    if (parsed.model != config_.model_name)
        throw ApiError::not_found("The model '" + parsed.model +
                                      "' does not exist; this server has '" + config_.model_name +
                                      "'.",
                                  "model_not_found");
    auto prompt = build_prompt(parsed, vocab_, config_.chat_template);
    auto choices =
        make_generation_requests(parsed, std::move(prompt), engine_.options().n_ctx, random_seed());
    for (auto& choice : choices) {
        if (config_.request_timeout.count() > 0)
            choice.deadline = arrival + config_.request_timeout;
        if (config_.max_queue_wait.count() > 0)
            choice.queue_deadline = arrival + config_.max_queue_wait;
    }
    const JobContext context{engine_, vocab_, metrics_, config_.model_name, config_.sse_keepalive};
    std::make_shared<CompletionJob>(context, std::move(parsed), channel, arrival)
        ->start(std::move(choices));
}

HttpResponse OpenAiService::experts(const HttpRequest& request, const std::string& path) const {
    if (!config_.experts) throw ApiError::not_found("This model has no experts.", "no_experts");
    if (path == "/v1/experts") {
        require_method(request, "GET");
        return json_response(200, config_.experts->report());
    }
    require_method(request, "POST");
    return json_response(200, config_.experts->rebalance(request.body));
}

HttpResponse OpenAiService::health() const {
    if (draining_) return error_response(ApiError::draining());
    // Ready means able to serve: a load balancer or an orchestrator acts on the 503.
    if (!unavailable().empty())
        return {503, "application/json",
                dump_json({{"status", "unavailable"}, {"message", kUnavailableMessage}}),
                ApiError::unavailable(kUnavailableMessage).headers()};
    return json_response(200, {{"status", "ok"}});
}

nlohmann::json OpenAiService::model_card() const {
    return {{"id", config_.model_name},
            {"object", "model"},
            {"created", created_},
            {"owned_by", "matrixserve"},
            {"max_model_len", engine_.options().n_ctx}};
}

HttpResponse OpenAiService::models() const {
    return json_response(200, {{"object", "list"}, {"data", json::array({model_card()})}});
}

HttpResponse OpenAiService::model(const std::string& name) const {
    if (name != config_.model_name)
        throw ApiError::not_found("The model '" + name + "' does not exist.", "model_not_found");
    return json_response(200, model_card());
}

}  // namespace ms::server
