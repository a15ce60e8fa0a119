#include "runtime/split_runtime.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "runtime/deployment/unit_placement.h"
#include "runtime/experts/expert_parallel.h"
#include "runtime/workers/shared_head.h"
#include "runtime/workers/unit_server.h"
#include "runtime/workers/unit_wire.h"
#include "runtime/workers/worker_process.h"

namespace ms::runtime {
namespace {

std::string unique_hub_name() {
    static std::atomic<int> counter{0};
    return "ms-split-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

// A worker that is a thread of the front end (inproc transport): it serves the model's own units
// until they are swapped for proxies, then owns them.
struct SplitRuntime::InProcessWorker {
    std::unique_ptr<transport::Transport> transport;
    std::map<std::string, model::Unit*> units;
    std::vector<std::unique_ptr<model::Unit>> owned;
    ThreadPool pool;
    std::unique_ptr<ExpertHost> experts;
    std::thread thread;

    explicit InProcessWorker(int threads) : pool(threads) {}
    ~InProcessWorker() {
        if (thread.joinable()) thread.join();
    }
};

std::unique_ptr<SplitRuntime> SplitRuntime::start(executor::ChainExecutor& chain,
                                                  const SplitOptions& options) {
    model::Model& model = chain.model();
    std::unique_ptr<SplitRuntime> rt(new SplitRuntime());
    rt->group_ = plan_group(options.deployment_file, model.hparams(), unique_hub_name());
    const size_t n = rt->group_.plans.size();
    rt->transport_ = transport::make_transport(rt->group_.peers, int(rt->group_.front_end));
    // Every unit is placed before any worker starts, so a deployment that cannot run yet
    // fails here with one message.
    for (size_t i = 0; i < n; ++i) rt->units_.push_back(units_of_worker(model, rt->group_, i));
    check_expert_parallel_layers(model, rt->group_);
    rt->workers_.resize(n);
    rt->supervisor_ = std::make_unique<WorkerSupervisor>(*rt->transport_, RelaunchPolicy{});
    for (size_t i = 0; i < n; ++i)
        if (i != rt->group_.front_end) rt->launch(model, options, i);
    for (size_t i = 0; i < n; ++i)
        if (rt->workers_[i] && rt->workers_[i]->thread)
            await_worker_ready(
                *rt->transport_, int(i), "worker " + rt->group_.plans[i].name,
                RelaunchPolicy{}.ready_timeout, [] { return std::nullopt; }, [] { return false; });
    rt->supervisor_->await_all_ready();
    rt->swap_in_proxies(model);
    rt->swap_in_routers(model);
    rt->add_metrics(chain);
    chain.set_micro_batches(rt->group_.deployment.micro_batches);
    chain.set_dp_groups(rt->group_.deployment.dp_groups);
    rt->supervisor_->watch();
    return rt;
}

void SplitRuntime::launch(model::Model& model, const SplitOptions& options, size_t index) {
    const WorkerPlan& plan = group_.plans[index];
    auto worker = std::make_unique<Worker>();
    worker->connection.transport = transport_.get();
    worker->connection.rank = int(index);
    worker->connection.name = plan.name;
    worker->connection.reply_timeout = options.worker_timeout;
    if (group_.deployment.transport == Transport::inproc) {
        auto& t = worker->thread = std::make_unique<InProcessWorker>(options.threads);
        t->transport = transport::make_transport(group_.peers, int(index));
        for (const auto& [name, chain_index] : units_[index])
            t->units.emplace(name, model.units()[chain_index].get());
        if (auto part = head_part_of(model, group_, index)) {
            t->units["head"] = part.get();
            t->owned.push_back(std::move(part));
        }
        t->experts = make_expert_host(model, group_, index, *t->transport, &t->pool);
        t->thread = std::thread([t = t.get(), front = int(group_.front_end), name = plan.name] {
            try {
                serve_units(*t->transport, front, t->units, &t->pool, t->experts.get());
            } catch (const std::exception& e) {
                std::fprintf(stderr, "matrixserve: worker %s: %s\n", name.c_str(), e.what());
            }
        });
    } else {
        std::vector<std::string> argv{options.worker_binary,
                                      "worker",
                                      "--deployment",
                                      options.deployment_file,
                                      "--role",
                                      plan.role,
                                      "--replica",
                                      std::to_string(plan.replica),
                                      "--model",
                                      options.model_path,
                                      "--threads",
                                      std::to_string(options.threads)};
        if (!plan.launch) {
            std::string command = "matrixserve";
            for (size_t i = 1; i < argv.size(); ++i) command += " " + argv[i];
            std::fprintf(stderr,
                         "matrixserve: waiting for worker %s to connect; start it with: %s\n",
                         plan.name.c_str(), command.c_str());
            argv.clear();
        }
        supervisor_->launch({&worker->connection, group_.peers.addresses[index], std::move(argv)});
    }
    workers_[index] = std::move(worker);
}

void SplitRuntime::swap_in_proxies(model::Model& model) {
    const bool head_shared = head_is_shared(group_);
    for (size_t index = 0; index < workers_.size(); ++index) {
        if (!workers_[index]) continue;
        Worker& worker = *workers_[index];
        for (const auto& [name, chain_index] : units_[index]) {
            if (name == "head" && head_shared) continue;  // install_shared_head's
            const auto format = group_.deployment.int8_activations && is_residual_unit(name)
                                    ? transport::RowFormat::int8
                                    : transport::RowFormat::float32;
            auto unit =
                model.replace_unit(chain_index, make_remote_unit(name, worker.connection, format));
            if (worker.thread) worker.thread->owned.push_back(std::move(unit));
        }
    }
}

void SplitRuntime::swap_in_routers(model::Model& model) {
    std::map<int, WorkerConnection*> connections;
    for (size_t index = 0; index < workers_.size(); ++index)
        if (workers_[index]) connections.emplace(int(index), &workers_[index]->connection);
    rebalancer_ = install_expert_routers(model, group_, *transport_, connections);
    install_shared_head(model, group_, connections);
}

void SplitRuntime::add_metrics(executor::ChainExecutor& chain) {
    chain.time_units();
    std::vector<std::string> location_of(chain.model().units().size(), "local");
    for (size_t index = 0; index < workers_.size(); ++index)
        if (workers_[index])
            for (const auto& [name, chain_index] : units_[index])
                location_of[chain_index] =
                    name == "head" && head_is_shared(group_) ? "shared" : group_.plans[index].name;
    metrics_.add(unit_time_source(chain, std::move(location_of)));
    metrics_.add(transport_source(*transport_, group_));
    metrics_.add(pipeline_source(chain.pipeline_counters()));
}

std::string SplitRuntime::unavailable() const {
    return supervisor_->unavailable();
}

SplitRuntime::~SplitRuntime() {
    if (supervisor_) supervisor_->stop_relaunching();  // a worker told to stop must stay stopped
    for (size_t index = 0; index < workers_.size(); ++index) {
        if (!workers_[index] || workers_[index]->connection.broken) continue;
        try {
            transport_->send(int(index), kUnitRequestTag, encode_stop());
        } catch (const transport::TransportError&) {
            // Already gone: nothing to stop.
        }
    }
    supervisor_.reset();  // reaps the processes
    workers_.clear();     // joins the threads
}

}  // namespace ms::runtime
