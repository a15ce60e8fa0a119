// Re-simulating a deployment at other batch sizes, for latency/throughput curves.
#pragma once
#include <vector>

#include "sim/report.h"

namespace ms::sim {

// The decode pool (or prefill pool) at fractions of its configured batch per group, each run
// with a workload sized to a couple of batches so a curve stays quick.
std::vector<CurvePoint> batch_curve(const Deployment& d, const SimOptions& options = {});

}  // namespace ms::sim
