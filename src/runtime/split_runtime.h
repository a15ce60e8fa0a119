// The front end of a split deployment: starts the other workers (child processes running
// `matrixserve worker`, or threads for the inproc transport), waits until each has loaded its
// units, and swaps proxies (remote_unit.h) into the model's chain in place of the units that run
// elsewhere, and sets the chain executor's micro-batches and DP groups from the deployment (with
// unit timing for /metrics). The model then runs as before; a worker process that dies is
// relaunched (worker_supervisor.h). Destroying the runtime stops the workers.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "executor/chain_executor.h"
#include "kernels/thread_pool.h"
#include "runtime/deployment/worker_group.h"
#include "runtime/experts/expert_host.h"
#include "runtime/experts/expert_rebalance.h"
#include "runtime/metrics/runtime_metrics.h"
#include "runtime/workers/remote_unit.h"
#include "runtime/workers/worker_supervisor.h"

namespace ms::runtime {

struct SplitOptions {
    std::string deployment_file;
    std::string model_path;                        // the file every worker maps
    int threads = 1;                               // per worker
    std::string worker_binary = "/proc/self/exe";  // a binary with the `worker` subcommand
    // A unit round trip slower than this marks its worker down (it is stuck: a dead one is
    // noticed at once); the step's requests fail and the worker is relaunched.
    std::chrono::milliseconds worker_timeout{30'000};
};

class SplitRuntime {
public:
    // Throws DeploymentError for a bad or unsupported deployment, std::runtime_error when a
    // worker does not come up (its own messages are on stderr). The runtime must go before chain.
    static std::unique_ptr<SplitRuntime> start(executor::ChainExecutor& chain,
                                               const SplitOptions& options);
    ~SplitRuntime();
    SplitRuntime(const SplitRuntime&) = delete;
    SplitRuntime& operator=(const SplitRuntime&) = delete;

    const WorkerGroup& group() const { return group_; }
    // The live placement of expert-parallel layers; null when there are none.
    ExpertRebalancer* expert_rebalancer() const { return rebalancer_.get(); }
    transport::TransportStats transport_stats() const { return transport_->stats(); }
    // Samples for /metrics: unit times, transport per worker; more sources may be added.
    MetricsRegistry& metrics() { return metrics_; }
    // Why requests cannot run now ("" when they can): a worker is being relaunched or is down.
    std::string unavailable() const;

private:
    struct InProcessWorker;
    struct Worker {
        WorkerConnection connection;
        std::unique_ptr<InProcessWorker> thread;  // for inproc; else a process of supervisor_
    };

    SplitRuntime() = default;
    void launch(model::Model& model, const SplitOptions& options, size_t index);
    void swap_in_proxies(model::Model& model);
    // Expert-parallel layers' routers and a shared head: units that reach several workers.
    void swap_in_routers(model::Model& model);
    void add_metrics(executor::ChainExecutor& chain);

    WorkerGroup group_;
    std::vector<std::map<std::string, size_t>> units_;  // per worker: chain index by unit name
    std::unique_ptr<transport::Transport> transport_;
    std::vector<std::unique_ptr<Worker>> workers_;  // by plan index; null for the front end
    std::unique_ptr<ExpertRebalancer> rebalancer_;
    std::unique_ptr<WorkerSupervisor> supervisor_;  // the worker processes
    MetricsRegistry metrics_;
};

}  // namespace ms::runtime
