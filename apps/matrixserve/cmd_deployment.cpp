// `matrixserve deployment check --deployment FILE --model MODEL`: validates a runtime deployment
// against a model and prints what each worker runs and whom it talks to.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "commands.h"
#include "gguf/gguf.h"
#include "model/hparams.h"
#include "runtime/deployment/deployment.h"

namespace ms::app {
namespace {

struct CheckOptions {
    std::string deployment;  // empty: the built-in colocated deployment
    std::string model;
    bool allow_remote = false;
};

// "0-4" for a contiguous run, else "0, 2, 3"; "-" when empty.
std::string indices_text(const std::vector<int>& v) {
    if (v.empty()) return "-";
    if (v.back() - v.front() + 1 == static_cast<int>(v.size()) && v.size() > 1)
        return fmt::format("{}-{}", v.front(), v.back());
    return fmt::format("{}", fmt::join(v, ","));
}

// Experts per layer, folding layers that hold the same experts: "L0-4: 0-1".
std::string experts_text(const std::vector<runtime::LayerExperts>& moe) {
    std::string out;
    for (size_t i = 0; i < moe.size();) {
        size_t j = i;
        std::vector<int> layers;
        while (j < moe.size() && moe[j].experts == moe[i].experts) layers.push_back(moe[j++].layer);
        out += fmt::format("{}L{}: {}", out.empty() ? "" : "; ", indices_text(layers),
                           indices_text(moe[i].experts));
        i = j;
    }
    return out.empty() ? "-" : out;
}

constexpr char kRow[] = "{:<16} {:<22} {:>3} {:<10} {:<10} {:<10} {:<24} {}\n";

void print_plan(const runtime::Deployment& d, const std::vector<runtime::WorkerPlan>& plans,
                const model::HParams& hp) {
    fmt::print(
        "{} for {} ({} layers, {} experts): transport {}, {} micro-batch(es), {} DP group(s), {} "
        "activations in transit\n",
        d.name, hp.name, hp.n_layer, hp.n_expert, runtime::name(d.transport), d.micro_batches,
        d.dp_groups, d.int8_activations ? "int8" : "f32");
    fmt::print(kRow, "worker", "address", "dp", "ends", "attention", "ffn", "experts", "peers");
    for (const runtime::WorkerPlan& p : plans) {
        const std::string ends = p.embedding && p.head ? "embed,head"
                                 : p.embedding         ? "embed"
                                 : p.head              ? "head"
                                                       : "-";
        fmt::print(kRow, p.name, p.address.empty() ? "(in process)" : p.address,
                   p.dp_group < 0 ? "-" : std::to_string(p.dp_group), ends,
                   indices_text(p.attention_layers), indices_text(p.ffn_layers),
                   experts_text(p.moe_experts),
                   p.peers.empty() ? "-" : fmt::format("{}", fmt::join(p.peers, ", ")));
    }
    std::vector<std::string> head_parts;
    for (const runtime::WorkerPlan& p : plans)
        if (p.head)
            head_parts.push_back(fmt::format("{} {}-{}", p.name, p.head_first_row,
                                             p.head_first_row + p.head_rows - 1));
    if (head_parts.size() > 1)
        fmt::print("head shared by vocabulary rows: {}\n", fmt::join(head_parts, ", "));
}

void run_check(const CheckOptions& o) {
    const model::HParams hp = model::HParams::from_gguf(gguf::File::open(o.model));
    const runtime::Deployment d = o.deployment.empty() ? runtime::colocated_deployment(hp)
                                                       : runtime::load_deployment(o.deployment);
    const auto plans = runtime::plan_workers(d, hp, {.loopback_only = !o.allow_remote});
    print_plan(d, plans, hp);
}

void add_deployment_command(CLI::App& root) {
    CLI::App* cmd = root.add_subcommand("deployment", "runtime deployment files");
    cmd->require_subcommand(1);
    auto opts = std::make_shared<CheckOptions>();
    CLI::App* check =
        cmd->add_subcommand("check", "validate a deployment against a model, print the plan");
    check->add_option("--deployment", opts->deployment,
                      "deployment YAML (default: everything colocated)");
    check->add_option("-m,--model", opts->model, "GGUF model file")->required();
    check->add_flag("--allow-remote", opts->allow_remote,
                    "accept UCX addresses outside 127.0.0.0/8");
    check->callback([opts] { run_check(*opts); });
}

const Registration reg{"deployment", &add_deployment_command};

}  // namespace
}  // namespace ms::app
