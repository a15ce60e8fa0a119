// Sends a benchmark's requests to an OpenAI-compatible server as streaming HTTP requests, on
// one thread, honouring the arrival times and a concurrency limit, and times every response.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "loadgen/openai_protocol.h"
#include "loadgen/stats.h"
#include "loadgen/workload.h"

namespace ms::loadgen {

struct LoadOptions {
    ServerUrl url;
    std::string endpoint = "/v1/completions";
    RequestSettings settings;
    std::string api_key;           // sent as "Authorization: Bearer KEY" when set
    size_t max_concurrency = 0;    // requests in flight at most; 0: no limit
    std::vector<double> arrivals;  // send time of each request, seconds from the start
    std::chrono::seconds request_timeout{600};
};

struct LoadResult {
    std::vector<RequestRecord> records;  // in request order
    double duration = 0;                 // from the start to the last response's end
};

using OnFinished = std::function<void(const RequestRecord&)>;

// Failures (refused connections, HTTP errors, broken streams) end up in the records, not as
// exceptions; throws only when the host cannot be resolved.
LoadResult run_load(const std::vector<BenchRequest>& requests, const LoadOptions& options,
                    const OnFinished& on_finished);

}  // namespace ms::loadgen
