// A benchmark's results for people (a table like `vllm bench serve` prints) and for programs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loadgen/stats.h"

namespace ms::loadgen {

std::string format_summary(const Summary& summary, const SloTargets& slo);

// Every figure of the summary; latencies in milliseconds.
nlohmann::json summary_json(const Summary& summary, const SloTargets& slo);

// One object per request, times in seconds.
nlohmann::json records_json(const std::vector<RequestRecord>& records);

}  // namespace ms::loadgen
