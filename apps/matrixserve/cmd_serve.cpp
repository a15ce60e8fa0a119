// matrixserve serve: the OpenAI-compatible HTTP API over one model (see docs/server.md).
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "engine/engine.h"
#include "expert_endpoints.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model_options.h"
#include "server/serve.h"
#include "tokenizer/chat_template.h"

namespace ms::app {
namespace {

struct ServeCommandOptions {
    ModelOptions model;
    engine::EngineOptions engine;
    server::HttpServerOptions http;
    std::string api_key_file;
    std::string served_model_name;
    int64_t request_timeout_ms = 0;
    int64_t max_queue_wait_ms = 30'000;
    int64_t sse_keepalive_ms = 15'000;
    std::string admin_key_file;
};

int run(const ServeCommandOptions& o) {
    std::fprintf(stderr, "loading %s\n", o.model.path.c_str());
    auto model = model::Model::load(o.model.path);
    const auto vocab = tok::Vocab::from_gguf(model->file());
    executor::ChainExecutor chain(*model);
    const auto experts = ModelExpertEndpoints::attach(*model);  // before the split takes the units
    const auto split = start_deployment(o.model, chain);        // outlives the engine below
    if (experts && split) experts->set_rebalancer(split->expert_rebalancer());

    server::ServeOptions serve;
    serve.http = o.http;
    serve.service.model_name = o.served_model_name.empty()
                                   ? std::filesystem::path(o.model.path).stem().string()
                                   : o.served_model_name;
    serve.service.chat_template = tok::ChatTemplate::of_model(model->file(), *vocab);
    serve.service.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
    serve.service.max_queue_wait = std::chrono::milliseconds(o.max_queue_wait_ms);
    serve.service.sse_keepalive = std::chrono::milliseconds(o.sse_keepalive_ms);
    serve.service.experts = experts.get();
    if (split) {
        serve.service.unavailable = [&split] { return split->unavailable(); };
        serve.service.runtime_metrics = [&split](const std::string& labels) {
            return split->metrics().render(labels);
        };
    }
    if (!o.api_key_file.empty())
        serve.service.api_keys = server::ApiKeys::from_file(o.api_key_file);
    if (!o.admin_key_file.empty())
        serve.service.admin_keys = server::ApiKeys::from_file(o.admin_key_file);

    engine::EngineOptions engine_options = o.engine;
    engine_options.threads = o.model.threads;
    engine_options.n_ctx = o.model.n_ctx;
    engine::Engine engine(chain, *vocab, engine_options);
    std::fprintf(stderr, "serving %s (chat format %s, context %d)\n",
                 serve.service.model_name.c_str(),
                 std::string(tok::chat_format_name(serve.service.chat_template.format)).c_str(),
                 engine_options.n_ctx);
    return server::serve(engine, *vocab, std::move(serve));
}

void add_serve_command(CLI::App& root) {
    auto options = std::make_shared<ServeCommandOptions>();
    auto* cmd = root.add_subcommand("serve", "serve the OpenAI-compatible API over HTTP");
    options->model.add_to(*cmd);
    auto& e = options->engine;
    auto& h = options->http;
    cmd->add_option("--host", h.host, "address to listen on")->capture_default_str();
    cmd->add_option("--port", h.port, "TCP port (0: any free port)")->capture_default_str();
    cmd->add_option("--api-key-file", options->api_key_file,
                    "file with one accepted API key per line");
    cmd->add_option("--admin-key-file", options->admin_key_file,
                    "keys for admin routes (POST /v1/experts/rebalance); without it they are "
                    "open to loopback clients only");
    cmd->add_option("--served-model-name", options->served_model_name,
                    "model id in the API (default: the GGUF file name without extension)");
    cmd->add_option("--max-running", e.max_running, "requests decoding at once")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--max-waiting", e.max_waiting, "queued requests before 429")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--kv-blocks", e.kv_blocks,
                    "KV cache blocks (0: enough for max-running x 1024 tokens)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--step-token-budget", e.step_token_budget,
                    "tokens per engine step (chunked prefill)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--request-timeout-ms", options->request_timeout_ms,
                    "end a request after this long (finish_reason length; 0: never)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--max-body-bytes", h.max_body_bytes, "largest request body (413 above)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--max-queue-wait-ms", options->max_queue_wait_ms,
                    "a request not started within this long gets 503 + Retry-After (0: no bound)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--sse-keepalive-ms", options->sse_keepalive_ms,
                    "a stream with nothing to send this long gets an SSE comment")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--max-buffered-bytes", h.max_buffered_bytes,
                    "unsent bytes of one stream before its request is cancelled (a client that "
                    "does not read)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->callback([options] {
        const int code = run(*options);
        if (code != 0) throw CLI::RuntimeError(code);
    });
}

const Registration registration{"serve", &add_serve_command};

}  // namespace
}  // namespace ms::app
