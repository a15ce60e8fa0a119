// matrixserve bench-serve: load generator for any OpenAI-compatible server, in the style of
// `vllm bench serve` (see docs/bench-serve.md).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "commands.h"
#include "loadgen/arrivals.h"
#include "loadgen/load_runner.h"
#include "loadgen/report.h"
#include "loadgen/stats.h"
#include "loadgen/workload.h"

namespace ms::app {
namespace {

using namespace ms::loadgen;

struct BenchServeOptions {
    std::string url = "http://127.0.0.1:8080";
    std::string model;
    std::string endpoint = "/v1/completions";
    std::string api_key;
    size_t num_prompts = 100;
    size_t max_concurrency = 0;
    std::string request_rate = "inf";
    uint64_t seed = 0;
    SyntheticOptions synthetic;
    std::string prompts_file;
    std::string slo;
    std::string json_path;
    bool no_ignore_eos = false;
    int timeout_s = 600;
};

double parse_rate(const std::string& text) {
    if (text == "inf") return std::numeric_limits<double>::infinity();
    size_t used = 0;
    double rate = 0;
    try {
        rate = std::stod(text, &used);
    } catch (const std::exception&) {
    }
    if (used != text.size() || !(rate > 0))
        throw std::invalid_argument("--request-rate must be a positive number or inf");
    return rate;
}

std::vector<BenchRequest> make_requests(const BenchServeOptions& o) {
    if (!o.prompts_file.empty()) {
        auto requests = requests_from_jsonl(o.prompts_file, o.synthetic.output_len);
        if (requests.size() > o.num_prompts) requests.resize(o.num_prompts);
        return requests;
    }
    SyntheticOptions synthetic = o.synthetic;
    synthetic.count = o.num_prompts;
    synthetic.seed = o.seed;
    return synthetic_requests(synthetic);
}

LoadOptions load_options(const BenchServeOptions& o) {
    LoadOptions load;
    load.url = parse_url(o.url);
    load.endpoint = o.endpoint;
    load.settings.model = o.model;
    load.settings.api = api_of_endpoint(o.endpoint);
    load.settings.ignore_eos = !o.no_ignore_eos;
    load.api_key = o.api_key;
    load.max_concurrency = o.max_concurrency;
    load.request_timeout = std::chrono::seconds(o.timeout_s);
    return load;
}

// One request before the run, as vLLM does, so a server that is down or refuses the
// request is reported once, clearly, instead of as N failures.
void check_server(const BenchRequest& first, const LoadOptions& load, const std::string& url) {
    BenchRequest probe = first;
    probe.max_tokens = std::min(probe.max_tokens, 4);
    const auto result = run_load({probe}, load, nullptr);
    const auto& record = result.records.front();
    if (!record.success)
        throw std::runtime_error("test request to " + url + load.endpoint +
                                 " failed: " + record.error);
}

// A line on stderr updated as requests finish (every tenth when stderr is not a terminal).
OnFinished progress_printer(size_t total) {
    const bool terminal = isatty(fileno(stderr));
    auto finished = std::make_shared<size_t>(0);
    auto failed = std::make_shared<size_t>(0);
    return [=](const RequestRecord& record) {
        ++*finished;
        *failed += !record.success;
        const bool last = *finished == total;
        if (!terminal && !last && *finished % std::max<size_t>(1, total / 10) != 0) return;
        std::fprintf(stderr, "%s[%zu/%zu] requests finished, %zu failed%s", terminal ? "\r" : "",
                     *finished, total, *failed, terminal && !last ? "" : "\n");
        std::fflush(stderr);
    };
}

nlohmann::json config_json(const BenchServeOptions& o, double rate) {
    return {{"url", o.url},
            {"endpoint", o.endpoint},
            {"model", o.model},
            {"num_prompts", o.num_prompts},
            {"max_concurrency", o.max_concurrency},
            {"request_rate", std::isinf(rate) ? nlohmann::json("inf") : nlohmann::json(rate)},
            {"seed", o.seed},
            {"input_len", o.synthetic.input_len},
            {"output_len", o.synthetic.output_len},
            {"range_ratio", o.synthetic.range_ratio},
            {"prompts_file", o.prompts_file},
            {"ignore_eos", !o.no_ignore_eos}};
}

void write_json(const std::string& path, nlohmann::json doc) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write " + path);
    out << doc.dump(2) << "\n";
}

int run(const BenchServeOptions& o) {
    const double rate = parse_rate(o.request_rate);
    const SloTargets slo = o.slo.empty() ? SloTargets{} : parse_slo(o.slo);
    const auto requests = make_requests(o);
    LoadOptions load = load_options(o);
    check_server(requests.front(), load, o.url);

    load.arrivals = poisson_arrivals(requests.size(), rate, o.seed);
    std::fprintf(stderr, "%zu requests to %s%s, rate %s/s, max concurrency %s\n", requests.size(),
                 o.url.c_str(), o.endpoint.c_str(), o.request_rate.c_str(),
                 o.max_concurrency ? std::to_string(o.max_concurrency).c_str() : "unlimited");
    const auto result = run_load(requests, load, progress_printer(requests.size()));
    const auto summary = summarize(result.records, result.duration, slo);
    std::fputs(format_summary(summary, slo).c_str(), stdout);
    if (!o.json_path.empty()) {
        auto doc = summary_json(summary, slo);
        doc["config"] = config_json(o, rate);
        doc["requests"] = records_json(result.records);
        write_json(o.json_path, std::move(doc));
    }
    return summary.completed > 0 ? 0 : 1;
}

void add_options(CLI::App& cmd, BenchServeOptions& o) {
    cmd.add_option("--url", o.url, "server base URL (http only)")->capture_default_str();
    cmd.add_option("--model", o.model, "model id sent with every request")->required();
    cmd.add_option("--endpoint", o.endpoint, "/v1/completions or /v1/chat/completions")
        ->capture_default_str();
    cmd.add_option("--api-key", o.api_key, "sent as Authorization: Bearer KEY");
    cmd.add_option("--num-prompts", o.num_prompts, "requests to send")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--max-concurrency", o.max_concurrency, "requests in flight at most (0: any)")
        ->capture_default_str();
    cmd.add_option("--request-rate", o.request_rate,
                   "Poisson arrivals per second; inf sends all at once")
        ->capture_default_str();
    cmd.add_option("--seed", o.seed, "seed for prompts, lengths and arrivals")
        ->capture_default_str();
    cmd.add_option("--input-len", o.synthetic.input_len, "synthetic prompt tokens (about)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--output-len", o.synthetic.output_len,
                   "max_tokens of synthetic requests (and of prompts-file lines without one)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--range-ratio", o.synthetic.range_ratio,
                   "lengths uniform in len x [1 - r, 1 + r]")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd.add_option("--prompts-file", o.prompts_file,
                   "JSONL of {\"prompt\": ..., \"max_tokens\": ...} instead of synthetic prompts")
        ->check(CLI::ExistingFile);
    cmd.add_option("--slo", o.slo, "goodput targets in ms, e.g. ttft=500,tpot=50 (also e2e)");
    cmd.add_option("--json", o.json_path, "write every figure and per-request records here");
    cmd.add_flag("--no-ignore-eos", o.no_ignore_eos,
                 "do not send ignore_eos (for servers that reject it)");
    cmd.add_option("--timeout", o.timeout_s, "seconds allowed per request")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

void add_bench_serve_command(CLI::App& root) {
    auto options = std::make_shared<BenchServeOptions>();
    auto* cmd = root.add_subcommand(
        "bench-serve", "load-test an OpenAI-compatible server (like vllm bench serve)");
    add_options(*cmd, *options);
    cmd->callback([options] {
        const int code = run(*options);
        if (code != 0) throw CLI::RuntimeError(code);
    });
}

const Registration registration{"bench-serve", &add_bench_serve_command};

}  // namespace
}  // namespace ms::app
