// Prometheus metrics named like vLLM's, with a "matrixserve:" prefix. Gauges and token
// counters come from EngineStats at scrape time; latency histograms and finished-request
// counts are recorded by the server as choices finish.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace ms::server {

class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);
    // Appends the _bucket (cumulative, le="+Inf" last), _sum and _count lines.
    void render(std::string& out, const std::string& name, const std::string& labels) const;

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bucket, not cumulative; one more for +Inf
    double sum_ = 0.0;
    uint64_t count_ = 0;
};

// The label naming the model on every sample: model_name="NAME" (escaped).
std::string model_label(const std::string& model_name);

// Latencies of one finished choice, in seconds.
struct ChoiceTimings {
    bool has_first_token = false;
    double time_to_first_token = 0.0;
    std::vector<double> inter_token;
    double end_to_end = 0.0;
    std::string finish_reason;
};

class ServerMetrics {
public:
    ServerMetrics();
    void record(const ChoiceTimings& timings);
    std::string render(const engine::EngineStats& stats, const std::string& model_name) const;

private:
    mutable std::mutex mutex_;
    Histogram time_to_first_token_;
    Histogram inter_token_latency_;
    Histogram e2e_latency_;
    std::map<std::string, uint64_t> finished_by_reason_;
};

}  // namespace ms::server
