// Per-request measurements of a benchmark and the figures `vllm bench serve` reports from them:
// throughput, latency percentiles and goodput under SLOs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::loadgen {

// Times in seconds.
struct RequestRecord {
    bool success = false;
    std::string error;
    double start = 0;         // when it was sent, from the start of the benchmark
    double ttft = 0;          // to the first chunk with content
    double latency = 0;       // to the end of the stream
    std::vector<double> itl;  // gaps between content chunks
    int32_t prompt_tokens = 0;
    int32_t output_tokens = 0;
    bool tokens_from_usage = false;  // else output tokens = content chunks

    // Time per output token after the first; 0 with fewer than two tokens.
    double tpot() const;
};

// Linear interpolation between closest ranks (numpy's default); 0 for no values.
double percentile(std::vector<double> values, double p);

struct Distribution {
    double mean = 0, p50 = 0, p90 = 0, p99 = 0;
};
Distribution describe(const std::vector<double>& values);

// Service-level objectives in milliseconds; a request is "good" when it meets all that are set.
struct SloTargets {
    std::optional<double> ttft_ms, tpot_ms, e2e_ms;
    bool any() const { return ttft_ms || tpot_ms || e2e_ms; }
};
// "ttft=500,tpot=50" (keys ttft, tpot, e2e); throws std::invalid_argument.
SloTargets parse_slo(std::string_view text);
bool meets_slo(const RequestRecord& record, const SloTargets& slo);

struct Summary {
    size_t completed = 0, failed = 0;
    double duration = 0;
    int64_t input_tokens = 0, output_tokens = 0;
    double request_throughput = 0, output_throughput = 0, total_throughput = 0;
    size_t good_requests = 0;
    std::optional<double> goodput;  // good requests per second, when SLOs are set
    Distribution ttft_ms, tpot_ms, itl_ms, e2e_ms;
};
// Figures over the successful requests; `duration` is the wall time of the whole run.
Summary summarize(const std::vector<RequestRecord>& records, double duration,
                  const SloTargets& slo);

}  // namespace ms::loadgen
