// matrixserve worker: one worker of a split deployment. Maps the model, serves the units its
// role runs to the front end until the front end says stop or is gone.
#include <cstdio>

#include "commands.h"
#include "kernels/thread_pool.h"
#include "model/model.h"
#include "runtime/deployment/worker_group.h"
#include "runtime/workers/shared_head.h"
#include "runtime/workers/unit_server.h"

namespace ms::app {
namespace {

struct WorkerOptions {
    std::string deployment;
    std::string role;
    int replica = 0;
    std::string model;
    int threads = 1;
};

void run(const WorkerOptions& o) {
    const auto model = model::Model::load(o.model);
    const auto group = runtime::plan_group(o.deployment, model->hparams(), "");
    const size_t index = runtime::find_worker(group, o.role, o.replica);
    if (group.deployment.transport == runtime::Transport::inproc)
        throw runtime::DeploymentError(o.deployment +
                                       ": transport inproc runs workers as threads of the front "
                                       "end; there is no worker process to start");
    if (index == group.front_end)
        throw runtime::DeploymentError(
            o.deployment + ": role " + o.role +
            " is the front end (it holds the embedding): run generate, logits or serve with "
            "--deployment instead");
    std::map<std::string, model::Unit*> units;
    for (const auto& [name, chain_index] : runtime::units_of_worker(*model, group, index))
        units.emplace(name, model->units()[chain_index].get());
    const auto head_part = runtime::head_part_of(*model, group, index);
    if (head_part) units["head"] = head_part.get();
    const auto transport = transport::make_transport(group.peers, int(index));
    ThreadPool pool(o.threads);
    const auto experts = runtime::make_expert_host(*model, group, index, *transport, &pool);
    const auto end =
        runtime::serve_units(*transport, int(group.front_end), units, &pool, experts.get());
    if (end == runtime::ServeEnd::front_end_gone)
        throw std::runtime_error("worker " + group.plans[index].name + ": the front end is gone");
}

void add_worker_command(CLI::App& root) {
    auto o = std::make_shared<WorkerOptions>();
    auto* cmd = root.add_subcommand("worker", "run one worker of a split runtime deployment");
    cmd->add_option("--deployment", o->deployment, "runtime deployment file")->required();
    cmd->add_option("--role", o->role, "the role this worker plays")->required();
    cmd->add_option("--replica", o->replica, "which replica of the role")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
    cmd->add_option("-t,--threads", o->threads, "threads running the units")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->callback([o] { run(*o); });
}

const Registration registration{"worker", &add_worker_command};

}  // namespace
}  // namespace ms::app
