// Discrete-event simulation of a deployment serving its workload: requests arrive, are routed
// to a data-parallel group, scheduled each step by the serving engine's own Scheduler and KV
// manager (scheduler/), and each pool instance's step takes the time the cost model gives.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scheduler/scheduler.h"
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

// How every DP group's scheduler is set up. The defaults size batches as the published systems
// the simulator is checked against do (KV set aside for each request's whole output, so nothing
// is preempted); the engine's settings are reserve_new_tokens = false, prefix caching on.
struct SchedulingOptions {
    int32_t block_size = 16;
    bool reserve_new_tokens = true;
    bool prefix_caching = false;  // needs token ids: a trace's prompts
    scheduler::Policy policy = scheduler::Policy::Fcfs;
    int32_t kv_blocks = 0;   // per DP group; 0: what the device memory holds after the weights
    bool colocated = false;  // the entry pool computes prompts too, as one `serve` instance does
};

// A request replayed step by step (a single-instance, single-group deployment): queued before
// the instance's step number arrival_step is scheduled (if the instance runs dry first, at its
// next step).
struct TraceRequest {
    int64_t arrival_step = 0;
    std::vector<int32_t> prompt;
    int32_t output = 1;
};

struct SimOptions {
    SchedulingOptions scheduling;
    std::vector<TraceRequest> trace;  // replaces the workload's requests when not empty
    // Sees every step plan as it is made (DP group index across the deployment, the plan).
    std::function<void(int, const scheduler::StepPlan&)> on_plan;
};

SimResult simulate(const Deployment& d, const SimOptions& options = {});

}  // namespace ms::sim
