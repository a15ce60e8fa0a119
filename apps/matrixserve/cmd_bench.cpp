// matrixserve bench: prompt-processing and generation speed, in the style of llama-bench, and
// batched decode of several sequences (bench_decode.h).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "bench_decode.h"
#include "commands.h"
#include "engine/session.h"
#include "kernels/matmul.h"
#include "model_options.h"

namespace ms::app {
namespace {

struct BenchOptions {
    ModelOptions model;
    std::vector<int> threads{1, 2};
    int n_prompt = 128;
    int n_gen = 64;
    int repetitions = 3;
    std::vector<int> sequences;  // batched decode of these many sequences instead of pp and tg
    int prefill = 32;            // prompt tokens per sequence before batched decode
    bool unit_times = false;
    bool json = false;
};

std::vector<int32_t> random_tokens(int n, int64_t vocab) {
    std::mt19937 rng(42);
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    for (auto& t : tokens) t = int32_t(rng() % uint64_t(vocab));
    return tokens;
}

// Seconds to run the prompt as one batch (pp) or the tokens one at a time (tg).
double time_run(engine::Session& session, const std::vector<int32_t>& tokens, bool one_by_one) {
    model::Activations logits;
    session.reset();
    const auto start = std::chrono::steady_clock::now();
    if (one_by_one)
        for (int32_t t : tokens) session.append({&t, 1}, false, logits);
    else
        session.append(tokens, false, logits);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

BenchResult measure(executor::ChainExecutor& chain, const BenchOptions& o, int threads,
                    bool generation) {
    const int n = generation ? o.n_gen : o.n_prompt;
    BenchResult r;
    r.test = (generation ? "tg" : "pp") + std::to_string(n);
    r.threads = threads;
    ThreadPool pool(threads);
    engine::Session session(
        chain, &pool,
        {.n_ctx = std::max(o.n_prompt, o.n_gen) + 16, .n_batch = 512, .block_size = 16});
    const auto tokens = random_tokens(n, chain.model().hparams().n_vocab);
    time_run(session, tokens, generation);  // warm-up: page in weights, size buffers
    for (int rep = 0; rep < o.repetitions; ++rep) {
        std::fprintf(stderr, "\rbench: %s, %d threads, run %d/%d   ", r.test.c_str(), threads,
                     rep + 1, o.repetitions);
        r.tokens_per_s.push_back(double(n) / time_run(session, tokens, generation));
    }
    return r;
}

std::vector<BenchResult> measure_all(LoadedModel& loaded, const BenchOptions& o) {
    std::vector<BenchResult> results;
    for (int threads : o.threads) {
        for (int n : o.sequences)
            results.push_back(measure_decode(*loaded.chain, loaded.split.get(),
                                             {.sequences = n,
                                              .prompt_tokens = o.prefill,
                                              .steps = o.n_gen,
                                              .repetitions = o.repetitions,
                                              .threads = threads}));
        if (!o.sequences.empty()) continue;
        if (o.n_prompt > 0) results.push_back(measure(*loaded.chain, o, threads, false));
        if (o.n_gen > 0) results.push_back(measure(*loaded.chain, o, threads, true));
    }
    return results;
}

nlohmann::json step_costs_json(const BenchResult& r) {
    const StepCosts& c = r.per_step;
    nlohmann::json out = {{"sequences", r.sequences},
                          {"ms_per_step", 1e3 * r.sequences / r.median()},
                          {"unit_ms_per_step", c.unit_ms}};
    if (c.transport_ms)
        out["transport"] = {{"ms_per_step", *c.transport_ms},
                            {"send_ms_per_step", *c.send_ms},
                            {"bubble_ms_per_step", *c.bubble_ms},
                            {"mb_per_step", *c.transport_mb},
                            {"messages_per_step", *c.transport_messages}};
    return out;
}

void print_json(const BenchOptions& o, const std::vector<BenchResult>& results,
                const std::string& isa) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) {
        nlohmann::json row = {{"model", o.model.path},      {"test", r.test},
                              {"threads", r.threads},       {"isa", isa},
                              {"tokens_per_s", r.median()}, {"stdev", r.stdev()},
                              {"samples", r.tokens_per_s}};
        if (!o.model.deployment.empty()) row["deployment"] = o.model.deployment;
        if (!o.sequences.empty()) row.update(step_costs_json(r));
        out.push_back(row);
    }
    std::puts(out.dump(2).c_str());
}

// "12.3 ms, transport 4.5 ms 1.2 MB; attn 3.0 ffn 8.1 head 1.0" for a batched decode row.
std::string step_costs_text(const BenchResult& r) {
    const StepCosts& c = r.per_step;
    std::string text = fmt::format("{:.2f} ms", 1e3 * r.sequences / r.median());
    if (c.transport_ms)
        text += fmt::format(", transport {:.2f} ms (send {:.2f}) {:.2f} MB, bubbles {:.2f} ms",
                            *c.transport_ms, *c.send_ms, *c.transport_mb, *c.bubble_ms);
    const char* separator = "; ";
    for (const auto& [kind, ms] : c.unit_ms) {
        text += fmt::format("{}{} {:.2f}", separator, kind, ms);
        separator = " ";
    }
    return text;
}

void print_table(const BenchOptions& o, const std::vector<BenchResult>& results,
                 const std::string& model_name, const std::string& isa) {
    const bool decode = !o.sequences.empty();
    std::printf("| %-24s | %-9s | %7s | %8s | %18s |%s\n", "model", "isa", "threads", "test",
                "t/s (median)", decode ? " per step" : "");
    std::printf("|%s|%s|%s|%s|%s|%s\n", std::string(26, '-').c_str(), std::string(11, '-').c_str(),
                std::string(9, '-').c_str(), std::string(10, '-').c_str(),
                std::string(20, '-').c_str(), decode ? "---|" : "");
    for (const auto& r : results) {
        const std::string costs = decode ? " " + step_costs_text(r) + " |" : "";
        std::printf("| %-24s | %-9s | %7d | %8s | %9.2f ± %6.2f |%s\n",
                    model_name.substr(0, 24).c_str(), isa.c_str(), r.threads, r.test.c_str(),
                    r.median(), r.stdev(), costs.c_str());
    }
}

void run(const BenchOptions& o) {
    if (!o.sequences.empty() && o.n_gen <= 0)
        throw std::invalid_argument("bench: --sequences needs decode steps (-n above 0)");
    auto loaded = load_model(o.model, !o.json);
    if (o.unit_times) loaded.chain->time_units();
    const auto results = measure_all(loaded, o);
    std::fprintf(stderr, "\r%60s\r", "");
    const std::string isa(kernels::isa_name(kernels::active_isa()));
    if (o.json)
        print_json(o, results, isa);
    else
        print_table(o, results, loaded.model->hparams().name, isa);
}

void add_bench_command(CLI::App& root) {
    auto options = std::make_shared<BenchOptions>();
    auto* cmd = root.add_subcommand("bench", "prompt and generation speed (llama-bench style)");
    options->model.add_to(*cmd);
    cmd->add_option("-p,--n-prompt", options->n_prompt, "prompt tokens (0: skip)")
        ->capture_default_str();
    cmd->add_option("-n,--n-gen", options->n_gen,
                    "generated tokens (0: skip); decode steps with --sequences")
        ->capture_default_str();
    cmd->add_option("--sequences", options->sequences,
                    "batched decode of these many sequences at once (e.g. 1,8,32) instead of pp "
                    "and tg: N tokens per step")
        ->delimiter(',')
        ->check(CLI::PositiveNumber);
    cmd->add_option("--prefill", options->prefill,
                    "prompt tokens per sequence before the batched decode steps")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_flag("--unit-times", options->unit_times,
                  "time each unit (always on with --deployment): ms per step by unit kind");
    cmd->add_option("--threads-list", options->threads, "thread counts to test")->delimiter(',');
    cmd->add_option("-r,--repetitions", options->repetitions)->check(CLI::PositiveNumber);
    cmd->add_flag("--json", options->json, "JSON output");
    cmd->callback([options] { run(*options); });
}

const Registration registration{"bench", &add_bench_command};

}  // namespace
}  // namespace ms::app
