#include "expert_endpoints.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/experts/expert_host.h"
#include "server/api_error.h"

namespace ms::app {
namespace {

using nlohmann::json;
using runtime::ExpertMove;

json placement_json(const std::vector<runtime::WorkerExperts>& placement) {
    json workers = json::array();
    for (const auto& w : placement) {
        json layers = json::object();
        for (size_t l = 0; l < w.experts_by_layer.size(); ++l)
            if (!w.experts_by_layer[l].empty()) layers[std::to_string(l)] = w.experts_by_layer[l];
        workers.push_back({{"worker", w.worker}, {"experts", layers}});
    }
    return workers;
}

json move_json(const ExpertMove& m) {
    return {{"kind", m.kind == ExpertMove::Kind::move ? "move" : "replicate"},
            {"layer", m.layer},
            {"expert", m.expert},
            {"from", m.from},
            {"to", m.to}};
}

runtime::RebalanceOptions options_from_json(const json& request) {
    runtime::RebalanceOptions options;
    try {
        options.max_moves = request.value("max_moves", options.max_moves);
        options.allow_replication = request.value("allow_replication", true);
    } catch (const json::exception&) {
        throw server::ApiError::invalid(
            "max_moves must be an integer and allow_replication a boolean");
    }
    return options;
}

ExpertMove move_from_json(const json& j) {
    if (!j.is_object()) throw server::ApiError::invalid("each move must be an object", "moves");
    try {
        const std::string kind = j.value("kind", "move");
        if (kind != "move" && kind != "replicate")
            throw server::ApiError::invalid("kind must be move or replicate, not " + kind, "moves");
        return {kind == "move" ? ExpertMove::Kind::move : ExpertMove::Kind::replicate,
                j.at("layer").get<int>(), j.at("expert").get<int>(),
                j.at("from").get<std::string>(), j.at("to").get<std::string>()};
    } catch (const json::exception& e) {
        throw server::ApiError::invalid(
            std::string("a move needs layer, expert (integers), from and to (worker names): ") +
                e.what(),
            "moves");
    }
}

}  // namespace

ModelExpertEndpoints::ModelExpertEndpoints(std::vector<int> layers, int n_layer, int n_expert)
    : layers_(std::move(layers)), counters_(n_layer, n_expert) {}

std::unique_ptr<ModelExpertEndpoints> ModelExpertEndpoints::attach(const model::Model& model) {
    const auto moe = runtime::moe_layers(model);
    if (moe.empty()) return nullptr;
    std::vector<int> layers;
    for (const auto& [layer, unit] : moe) layers.push_back(layer);
    std::unique_ptr<ModelExpertEndpoints> endpoints(new ModelExpertEndpoints(
        std::move(layers), int(model.hparams().n_layer), int(model.hparams().n_expert)));
    for (const auto& [layer, unit] : moe) unit->router().set_observer(&endpoints->counters_);
    return endpoints;
}

json ModelExpertEndpoints::report() const {
    const runtime::ExpertCounts counts = counters_.snapshot();
    const runtime::SkewReport skew = runtime::skew_report(counts, 0);
    json layers = json::array();
    double worst = 0;
    for (int layer : layers_) {
        const runtime::LayerSkew& s = skew.layers.at(size_t(layer));
        std::vector<uint64_t> tokens;
        for (int e = 0; e < counts.n_expert; ++e) tokens.push_back(counts.count(layer, e));
        layers.push_back({{"layer", layer},
                          {"tokens", s.tokens},
                          {"tokens_per_expert", tokens},
                          {"skew", s.max_over_mean},
                          {"hottest_expert", s.hottest.expert}});
        worst = std::max(worst, s.max_over_mean);
    }
    json out = {{"object", "expert_stats"}, {"layers", layers}, {"worst_skew", worst}};
    if (rebalancer_) {
        out["placement"] = placement_json(rebalancer_->placement());
        out["rebalance_pending"] = rebalancer_->pending();
    }
    return out;
}

json ModelExpertEndpoints::rebalance(const std::string& body) {
    if (!rebalancer_)
        throw server::ApiError::invalid(
            "this deployment has no expert-parallel layers (experts over several workers): "
            "there is nothing to rebalance");
    const json request = body.empty() ? json::object() : json::parse(body, nullptr, false);
    if (!request.is_object()) throw server::ApiError::invalid("the body must be a JSON object");
    json out = json::object();
    std::vector<ExpertMove> moves;
    if (request.contains("moves")) {
        if (!request["moves"].is_array())
            throw server::ApiError::invalid("moves must be an array", "moves");
        for (const json& m : request["moves"]) moves.push_back(move_from_json(m));
    } else {
        const runtime::RebalanceOptions options = options_from_json(request);
        const auto plan =
            runtime::plan_rebalance(counters_.snapshot(), rebalancer_->placement(), options);
        moves = plan.moves;
        out["load_before"] = plan.load_before;
        out["load_after"] = plan.load_after;
    }
    try {
        rebalancer_->move(moves);
    } catch (const std::invalid_argument& e) {
        throw server::ApiError::invalid(e.what(), "moves");
    }
    out["moves"] = json::array();
    for (const ExpertMove& m : moves) out["moves"].push_back(move_json(m));
    out["placement"] = placement_json(rebalancer_->placement());
    return out;
}

std::string ModelExpertEndpoints::metrics(const std::string& model) const {
    const runtime::ExpertCounts counts = counters_.snapshot();
    std::string out =
        "# HELP matrixserve:expert_tokens_total Tokens routed to each expert of each MoE layer.\n"
        "# TYPE matrixserve:expert_tokens_total counter\n";
    for (int layer : layers_)
        for (int e = 0; e < counts.n_expert; ++e)
            out += "matrixserve:expert_tokens_total{" + model + ",layer=\"" +
                   std::to_string(layer) + "\",expert=\"" + std::to_string(e) + "\"} " +
                   std::to_string(counts.count(layer, e)) + "\n";
    return out;
}

}  // namespace ms::app
