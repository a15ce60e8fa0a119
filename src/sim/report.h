// Presenting simulation results: a human table, JSON, and an SVG of the step breakdown and
// of latency against throughput.
#pragma once
#include <string>
#include <vector>

#include "sim/simulator.h"

namespace ms::sim {

std::string format_table(const SimResult& r);
std::string format_json(const SimResult& r);

// One point of a latency/throughput curve: the same deployment at a different batch size.
struct CurvePoint {
    int batch_per_group = 0;
    double tokens_per_s_per_chip = 0;
    double tpot_s = 0;
};
std::string format_svg(const SimResult& r, const std::vector<CurvePoint>& curve);

}  // namespace ms::sim
