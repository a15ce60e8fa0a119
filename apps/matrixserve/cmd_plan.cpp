// `matrixserve plan BASE.yaml`: search pool sizes and parallelism for the most goodput per
// device under TTFT/TPOT SLOs, keeping the base deployment's hardware, model and workload.
#include <fmt/format.h>

#include "commands.h"
#include "sim/planner.h"

namespace {

struct PlanOptions {
    std::string base;
    std::string catalog = ms::sim::default_catalog_dir();
    int devices = 0;
    double ttft_ms = 2000;
    double tpot_ms = 50;
    size_t top = 5;
};

void print_plan(size_t rank, const ms::sim::Plan& p) {
    const ms::sim::Deployment& d = p.deployment;
    fmt::print("{}. {:.1f} output tokens/s per device ({:.1f} req/s)\n", rank, p.goodput_per_device,
               p.requests_per_s);
    fmt::print(
        "   prefill: {} x EP{} instances; decode: DP{}/EP{} ({} redundant, {} shared "
        "replicas), batch {} per die, {} micro-batch(es)\n",
        d.prefill.instances, d.prefill.devices, d.decode.dp, d.decode.ep,
        d.decode.redundant_experts, d.decode.shared_replicas, d.decode.batch_per_group,
        d.decode.micro_batches);
    fmt::print("   why: {}\n", p.why);
}

void run_plan(const PlanOptions& o) {
    const ms::sim::Deployment base = ms::sim::load_deployment(o.base, o.catalog);
    const int devices = o.devices > 0 ? o.devices : base.devices();
    const ms::sim::Slo slo{o.ttft_ms * 1e-3, o.tpot_ms * 1e-3};
    const auto plans = ms::sim::plan_deployments(base, devices, slo, o.top);
    fmt::print("{} on {} devices of {}, SLO TTFT {:.0f} ms, TPOT {:.0f} ms\n", base.model.name,
               devices, base.system.name, o.ttft_ms, o.tpot_ms);
    if (plans.empty()) fmt::print("no deployment meets the SLOs\n");
    for (size_t i = 0; i < plans.size(); ++i) print_plan(i + 1, plans[i]);
}

void add_plan_command(CLI::App& root) {
    auto opts = std::make_shared<PlanOptions>();
    CLI::App* cmd = root.add_subcommand("plan", "search deployments for goodput under SLOs");
    cmd->add_option("base", opts->base, "deployment YAML giving hardware, model, workload")
        ->required();
    cmd->add_option("--devices", opts->devices, "devices to use (default: the base's)");
    cmd->add_option("--ttft-ms", opts->ttft_ms, "time-to-first-token SLO");
    cmd->add_option("--tpot-ms", opts->tpot_ms, "time-per-output-token SLO");
    cmd->add_option("--top", opts->top, "how many plans to print");
    cmd->add_option("--catalog", opts->catalog, "hardware/model catalog directory");
    cmd->callback([opts] { run_plan(*opts); });
}

const ms::app::Registration reg{"plan", &add_plan_command};

}  // namespace
