// Options and loading shared by the subcommands that run a model.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "engine/sampler.h"
#include "executor/chain_executor.h"
#include "kernels/thread_pool.h"
#include "model/model.h"
#include "runtime/split_runtime.h"
#include "tokenizer/vocab.h"

namespace ms::app {

struct ModelOptions {
    std::string path = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    int threads = 0;  // 0: every hardware thread
    int n_ctx = 2048;
    std::string deployment;  // empty: every unit in this process
    int64_t worker_timeout_ms = 30'000;

    void add_to(CLI::App& cmd);
    int thread_count() const;
    runtime::SplitOptions split_options() const;
};

void add_sampling_options(CLI::App& cmd, engine::SamplingParams& params);

struct LoadedModel {
    std::unique_ptr<model::Model> model;
    std::unique_ptr<executor::ChainExecutor> chain;  // runs the model
    std::unique_ptr<tok::Vocab> vocab;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<runtime::SplitRuntime> split;  // after the model: stops its workers first
};

// With a deployment file: starts its workers, swaps proxies into the chain's model for the units
// they run and sets the chain's micro-batches and DP groups (docs/deployment.md); null without one.
std::unique_ptr<runtime::SplitRuntime> start_deployment(const ModelOptions& options,
                                                        executor::ChainExecutor& chain);

// Maps the model and builds its vocabulary, reporting progress on stderr when verbose. With a
// deployment, starts its workers and runs the units placed on them there.
LoadedModel load_model(const ModelOptions& options, bool verbose);

}  // namespace ms::app
