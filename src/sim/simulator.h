// Discrete-event simulation of a deployment serving its workload: requests arrive, are routed
// to a data-parallel group, batched each step by a scheduler::BatchPolicy, and each pool
// instance's step takes the time the cost model gives.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/policy.h"
#include "sim/cost_model.h"
#include "sim/deployment.h"

namespace ms::sim {

struct LatencyStats {
    double mean = 0, p50 = 0, p99 = 0;  // seconds
};

struct PoolReport {
    std::string name;
    int devices = 0;  // all instances
    double chips = 0;
    int64_t steps = 0;
    double mean_step_s = 0;        // device time per step
    double scheduling_s = 0;       // per step
    Breakdown mean_ops;            // per step, each class as if run alone
    double mean_batch = 0;         // running requests per DP group per step
    double busy_fraction = 0;      // of the makespan
    double flops_utilisation = 0;  // busiest device's FLOPs / peak, while busy
    double tokens_per_s = 0;       // sustained: generated (decode) or prompt (prefill) tokens
};

struct SimResult {
    std::string deployment;
    int64_t requests = 0;
    int64_t finished = 0;
    double makespan_s = 0;
    int devices = 0;
    double chips = 0;
    double output_tokens_per_s = 0;  // sustained, all pools together
    LatencyStats ttft, tpot, e2e;
    std::vector<PoolReport> pools;
};

SimResult simulate(const Deployment& d, const scheduler::BatchPolicy& policy);

}  // namespace ms::sim
