// `matrixserve simulate DEPLOYMENT.yaml`: run the supernode simulator on a deployment file.
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "sim/report.h"
#include "sim/sweep.h"

namespace {

struct SimulateOptions {
    std::string deployment;
    std::string catalog = ms::sim::default_catalog_dir();
    std::string plot;
    bool json = false;
};

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    if (!(out << text)) throw std::runtime_error("cannot write " + path);
}

void run_simulate(const SimulateOptions& o) {
    const ms::sim::Deployment d = ms::sim::load_deployment(o.deployment, o.catalog);
    const ms::sim::SimResult r = ms::sim::simulate(d);
    const std::string text = o.json ? ms::sim::format_json(r) : ms::sim::format_table(r);
    std::fputs(text.c_str(), stdout);
    if (!o.plot.empty()) write_file(o.plot, ms::sim::format_svg(r, ms::sim::batch_curve(d)));
}

void add_simulate_command(CLI::App& root) {
    auto opts = std::make_shared<SimulateOptions>();
    CLI::App* cmd = root.add_subcommand("simulate", "simulate a deployment (docs/simulator.md)");
    cmd->add_option("deployment", opts->deployment, "deployment YAML file")->required();
    cmd->add_flag("--json", opts->json, "print results as JSON");
    cmd->add_option("--plot", opts->plot, "write an SVG of the breakdown and latency/throughput");
    cmd->add_option("--catalog", opts->catalog, "hardware/model catalog directory");
    cmd->callback([opts] { run_simulate(*opts); });
}

const ms::app::Registration reg{"simulate", &add_simulate_command};

}  // namespace
