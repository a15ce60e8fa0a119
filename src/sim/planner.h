// Searching deployments: how to split a device budget into prefill and decode pools, and at
// what batch and micro-batching, for the most goodput per device under TTFT/TPOT SLOs.
#pragma once
#include <string>
#include <vector>

#include "sim/deployment.h"

namespace ms::sim {

struct Slo {
    double ttft_s = 2;
    double tpot_s = 0.05;
};

struct Plan {
    Deployment deployment;
    double goodput_per_device = 0;  // output tokens/s per device at the sustainable rate
    double requests_per_s = 0;
    double tpot_s = 0;
    double ttft_s = 0;
    std::string why;
};

// Candidates built on `base` (hardware, model, precision, MTP and workload are kept), using
// `devices` in all, best first. Each is scored from steady-state step times of the cost model.
std::vector<Plan> plan_deployments(const Deployment& base, int devices, const Slo& slo,
                                   size_t keep);

}  // namespace ms::sim
