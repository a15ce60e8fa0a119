// matrixserve bench: prompt-processing and generation speed, in the style of llama-bench.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

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
    bool json = false;
};

struct Result {
    std::string test;
    int threads;
    std::vector<double> tokens_per_s;

    double median() const {
        auto v = tokens_per_s;
        std::sort(v.begin(), v.end());
        return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    }
    double stdev() const {
        double mean = 0, sq = 0;
        for (double x : tokens_per_s) mean += x / double(tokens_per_s.size());
        for (double x : tokens_per_s) sq += (x - mean) * (x - mean);
        return tokens_per_s.size() > 1 ? std::sqrt(sq / double(tokens_per_s.size() - 1)) : 0.0;
    }
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

Result measure(model::Model& model, const BenchOptions& o, int threads, bool generation) {
    const int n = generation ? o.n_gen : o.n_prompt;
    Result r{(generation ? "tg" : "pp") + std::to_string(n), threads, {}};
    ThreadPool pool(threads);
    engine::Session session(
        model, &pool,
        {.n_ctx = std::max(o.n_prompt, o.n_gen) + 16, .n_batch = 512, .block_size = 16});
    const auto tokens = random_tokens(n, model.hparams().n_vocab);
    time_run(session, tokens, generation);  // warm-up: page in weights, size buffers
    for (int rep = 0; rep < o.repetitions; ++rep) {
        std::fprintf(stderr, "\rbench: %s, %d threads, run %d/%d   ", r.test.c_str(), threads,
                     rep + 1, o.repetitions);
        r.tokens_per_s.push_back(double(n) / time_run(session, tokens, generation));
    }
    return r;
}

void run(const BenchOptions& o) {
    auto loaded = load_model(o.model, !o.json);
    std::vector<Result> results;
    for (int threads : o.threads) {
        if (o.n_prompt > 0) results.push_back(measure(*loaded.model, o, threads, false));
        if (o.n_gen > 0) results.push_back(measure(*loaded.model, o, threads, true));
    }
    std::fprintf(stderr, "\r%60s\r", "");
    const auto& hp = loaded.model->hparams();
    const std::string isa(kernels::isa_name(kernels::active_isa()));
    if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : results)
            out.push_back({{"model", o.model.path},
                           {"test", r.test},
                           {"threads", r.threads},
                           {"isa", isa},
                           {"tokens_per_s", r.median()},
                           {"stdev", r.stdev()},
                           {"samples", r.tokens_per_s}});
        std::puts(out.dump(2).c_str());
        return;
    }
    std::printf("| %-24s | %-9s | %7s | %6s | %18s |\n", "model", "isa", "threads", "test",
                "t/s (median)");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(), std::string(11, '-').c_str(),
                std::string(9, '-').c_str(), std::string(8, '-').c_str(),
                std::string(20, '-').c_str());
    for (const auto& r : results)
        std::printf("| %-24s | %-9s | %7d | %6s | %9.2f ± %6.2f |\n", hp.name.substr(0, 24).c_str(),
                    isa.c_str(), r.threads, r.test.c_str(), r.median(), r.stdev());
}

void add_bench_command(CLI::App& root) {
    auto options = std::make_shared<BenchOptions>();
    auto* cmd = root.add_subcommand("bench", "prompt and generation speed (llama-bench style)");
    options->model.add_to(*cmd);
    cmd->add_option("-p,--n-prompt", options->n_prompt, "prompt tokens (0: skip)")
        ->capture_default_str();
    cmd->add_option("-n,--n-gen", options->n_gen, "generated tokens (0: skip)")
        ->capture_default_str();
    cmd->add_option("--threads-list", options->threads, "thread counts to test")->delimiter(',');
    cmd->add_option("-r,--repetitions", options->repetitions)->check(CLI::PositiveNumber);
    cmd->add_flag("--json", options->json, "JSON output");
    cmd->callback([options] { run(*options); });
}

const Registration registration{"bench", &add_bench_command};

}  // namespace
}  // namespace ms::app
