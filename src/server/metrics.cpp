#include "server/metrics.h"

#include <algorithm>
#include <charconv>

namespace ms::server {
namespace {

constexpr const char* prefix = "matrixserve:";

// Shortest text that reads back as the same double ("0.04", not "0.040000000000000001").
std::string format_value(double value) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    return std::string(text, end);
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
    out += "# HELP " + std::string(prefix) + name + " " + help + "\n";
    out += "# TYPE " + std::string(prefix) + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
    out += std::string(prefix) + name + "{" + labels + "} " + format_value(value) + "\n";
}

void single(std::string& out, const std::string& name, const char* type, const char* help,
            const std::string& labels, double value) {
    header(out, name, type, help);
    sample(out, name, labels, value);
}

// Bucket bounds as vLLM uses them, so dashboards built for vLLM read ours unchanged.
std::vector<double> ttft_buckets() {
    return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
            1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
}
std::vector<double> itl_buckets() {
    return {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
            0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
}
std::vector<double> e2e_buckets() {
    return {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
            30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
}

// Label values escape backslash, quote and newline (Prometheus text format).
std::string escape_label(const std::string& value) {
    std::string escaped;
    for (const char c : value) {
        if (c == '\\' || c == '"') escaped += '\\';
        escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    return escaped;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
    const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    ++counts_[size_t(bucket)];
    sum_ += value;
    ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
    const std::string bucket = std::string(prefix) + name + "_bucket{" + labels + ",le=\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i];
        out += bucket + format_value(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += bucket + "+Inf\"} " + std::to_string(count_) + "\n";
    sample(out, name + "_sum", labels, sum_);
    sample(out, name + "_count", labels, double(count_));
}

ServerMetrics::ServerMetrics()
    : time_to_first_token_(ttft_buckets()),
      inter_token_latency_(itl_buckets()),
      e2e_latency_(e2e_buckets()) {}

void ServerMetrics::record(const ChoiceTimings& timings) {
    std::lock_guard lock(mutex_);
    if (timings.has_first_token) time_to_first_token_.observe(timings.time_to_first_token);
    for (const double gap : timings.inter_token) inter_token_latency_.observe(gap);
    e2e_latency_.observe(timings.end_to_end);
    ++finished_by_reason_[timings.finish_reason];
}

std::string model_label(const std::string& model_name) {
    return "model_name=\"" + escape_label(model_name) + "\"";
}

std::string ServerMetrics::render(const engine::EngineStats& stats,
                                  const std::string& model_name) const {
    const std::string model = model_label(model_name);
    const double kv_usage =
        stats.kv_blocks_total > 0 ? double(stats.kv_blocks_used) / stats.kv_blocks_total : 0.0;
    std::string out;
    single(out, "num_requests_running", "gauge", "Requests decoding or prefilling.", model,
           stats.running);
    single(out, "num_requests_waiting", "gauge", "Requests waiting to be scheduled.", model,
           stats.waiting);
    single(out, "kv_cache_usage_perc", "gauge", "Fraction of KV blocks in use (1 = full).", model,
           kv_usage);
    single(out, "prefix_cache_queries_total", "counter",
           "Prompt tokens looked up in the prefix cache.", model, double(stats.prefix_queries));
    single(out, "prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.",
           model, double(stats.prefix_hits));
    single(out, "prompt_tokens_total", "counter", "Prompt tokens computed.", model,
           double(stats.prompt_tokens));
    single(out, "generation_tokens_total", "counter", "Tokens generated.", model,
           double(stats.generation_tokens));
    single(out, "num_preemptions_total", "counter", "Requests preempted for lack of KV blocks.",
           model, double(stats.preemptions));
    std::lock_guard lock(mutex_);
    header(out, "request_success_total", "counter", "Finished requests by finish reason.");
    for (const auto& [reason, count] : finished_by_reason_)
        sample(out, "request_success_total", model + ",finished_reason=\"" + reason + "\"",
               double(count));
    header(out, "time_to_first_token_seconds", "histogram", "Time to first token.");
    time_to_first_token_.render(out, "time_to_first_token_seconds", model);
    header(out, "inter_token_latency_seconds", "histogram", "Time between consecutive tokens.");
    inter_token_latency_.render(out, "inter_token_latency_seconds", model);
    header(out, "e2e_request_latency_seconds", "histogram", "Arrival to last token.");
    e2e_latency_.render(out, "e2e_request_latency_seconds", model);
    return out;
}

}  // namespace ms::server
