#include "model_options.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "gguf/gguf.h"

namespace ms::app {

void ModelOptions::add_to(CLI::App& cmd) {
    cmd.add_option("-m,--model", path, "GGUF model file")->capture_default_str();
    cmd.add_option("-t,--threads", threads, "worker threads (0: all hardware threads)")
        ->check(CLI::NonNegativeNumber);
    cmd.add_option("-c,--ctx", n_ctx, "context length in tokens")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--deployment", deployment,
                   "runtime deployment file: start its workers and run their units there "
                   "(docs/deployment.md)");
    cmd.add_option("--worker-timeout-ms", worker_timeout_ms,
                   "with --deployment: a worker that does not answer a unit request within this "
                   "long is marked down and relaunched")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

runtime::SplitOptions ModelOptions::split_options() const {
    return {.deployment_file = deployment,
            .model_path = path,
            .threads = thread_count(),
            .worker_timeout = std::chrono::milliseconds(worker_timeout_ms)};
}

int ModelOptions::thread_count() const {
    return threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

void add_sampling_options(CLI::App& cmd, engine::SamplingParams& p) {
    cmd.add_option("--temp,--temperature", p.temperature, "0 = greedy")->capture_default_str();
    cmd.add_option("--top-k", p.top_k, "0 = off");
    cmd.add_option("--top-p", p.top_p, "1 = off");
    cmd.add_option("--min-p", p.min_p, "0 = off");
    cmd.add_option("--repeat-penalty", p.repetition_penalty, "1 = off");
    cmd.add_option("--presence-penalty", p.presence_penalty);
    cmd.add_option("--frequency-penalty", p.frequency_penalty);
    cmd.add_option("--repeat-last-n", p.penalty_last_n, "tokens the penalties look back");
    cmd.add_option("--seed", p.seed);
}

std::unique_ptr<runtime::SplitRuntime> start_deployment(const ModelOptions& options,
                                                        executor::ChainExecutor& chain) {
    if (options.deployment.empty()) return nullptr;
    return runtime::SplitRuntime::start(chain, options.split_options());
}

LoadedModel load_model(const ModelOptions& options, bool verbose) {
    const auto start = std::chrono::steady_clock::now();
    if (verbose) std::fprintf(stderr, "loading %s ...", options.path.c_str());
    LoadedModel loaded;
    loaded.model = model::Model::load(options.path);
    loaded.chain = std::make_unique<executor::ChainExecutor>(*loaded.model);
    loaded.vocab = tok::Vocab::from_gguf(loaded.model->file());
    loaded.pool = std::make_unique<ThreadPool>(options.thread_count());
    loaded.split = start_deployment(options, *loaded.chain);
    if (verbose) {
        const auto ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
        const auto& hp = loaded.model->hparams();
        std::fprintf(stderr, " %s, %lld layers, %lld vocab, %d threads (%.0f ms)\n",
                     hp.arch.c_str(), (long long)hp.n_layer, (long long)hp.n_vocab,
                     loaded.pool->size(), ms.count());
    }
    return loaded;
}

}  // namespace ms::app
