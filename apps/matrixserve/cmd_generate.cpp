// matrixserve generate: complete a prompt (or a chat turn) with a model, streaming the text.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "engine/engine.h"
#include "gguf/gguf.h"
#include "model_options.h"
#include "tokenizer/chat_template.h"

namespace ms::app {
namespace {

struct GenerateOptions {
    ModelOptions model;
    engine::SamplingParams sampling;
    std::string prompt;
    std::vector<int32_t> tokens;  // given instead of a prompt
    std::string system;
    int n_predict = 128;
    bool chat = false;
    bool json = false;
    bool ignore_eos = false;
};

std::vector<tok::Token> prompt_tokens(const GenerateOptions& o, const tok::Vocab& vocab,
                                      const gguf::File& file) {
    if (!o.tokens.empty()) return o.tokens;
    if (!o.chat) return vocab.encode(o.prompt, std::nullopt, false);
    std::vector<tok::ChatMessage> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    messages.push_back({"user", o.prompt});
    return tok::ChatTemplate::of_model(file, vocab).tokenize(vocab, messages, true);
}

// What the engine reported, handed over from its thread.
struct Outcome {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<engine::FinishEvent> finish;
    std::chrono::steady_clock::time_point first_token;
    std::vector<tok::Token> generated;
    std::string text;
};

void run(const GenerateOptions& o) {
    auto loaded = load_model(o.model, !o.json);
    const auto& vocab = *loaded.vocab;
    const auto prompt = prompt_tokens(o, vocab, loaded.model->file());
    // One request through the serving engine: its KV holds the whole context.
    engine::Engine engine(*loaded.chain, vocab,
                          {.threads = o.model.threads,
                           .n_ctx = o.model.n_ctx,
                           .kv_blocks = (o.model.n_ctx + 15) / 16,
                           .max_running = 1,
                           .step_token_budget = 256});
    tok::StreamingDetokenizer detok(vocab);
    Outcome out;
    const auto start = std::chrono::steady_clock::now();
    out.first_token = start;
    engine::RequestCallbacks callbacks;
    callbacks.on_token = [&](const engine::TokenEvent& e) {
        std::lock_guard lock(out.mutex);
        if (out.generated.empty()) out.first_token = std::chrono::steady_clock::now();
        out.generated.push_back(e.token);
        const std::string piece = detok.push(e.token);
        out.text += piece;
        if (!o.json) {
            std::fputs(piece.c_str(), stdout);
            std::fflush(stdout);
        }
        return true;
    };
    callbacks.on_finish = [&](const engine::FinishEvent& e) {
        std::lock_guard lock(out.mutex);
        out.finish = e;
        out.done.notify_all();
    };
    if (o.n_predict > 0) {
        const auto submitted = engine.submit({.prompt = prompt,
                                              .sampling = o.sampling,
                                              .max_tokens = o.n_predict,
                                              .ignore_eos = o.ignore_eos},
                                             std::move(callbacks));
        if (submitted.status != engine::SubmitStatus::Accepted)
            throw std::invalid_argument("generate: " + submitted.message);
        std::unique_lock lock(out.mutex);
        out.done.wait(lock, [&] { return out.finish.has_value(); });
        if (out.finish->reason == engine::FinishReason::Error)
            throw std::runtime_error("generate: " + out.finish->error);
    }
    std::lock_guard lock(out.mutex);
    out.text += detok.flush();
    const auto end = std::chrono::steady_clock::now();
    const double prefill_s = std::chrono::duration<double>(out.first_token - start).count();
    const double decode_s = std::chrono::duration<double>(end - out.first_token).count();
    if (o.json) {
        nlohmann::json json{
            {"prompt_tokens", prompt}, {"generated_tokens", out.generated}, {"text", out.text}};
        std::puts(json.dump().c_str());
        return;
    }
    // The first token is the prompt's: the decode rate counts the tokens after it.
    const size_t decoded = out.generated.empty() ? 0 : out.generated.size() - 1;
    std::fprintf(stderr,
                 "\n\nprompt: %zu tokens in %.3f s (%.1f t/s); generated: %zu tokens in %.3f s "
                 "(%.1f t/s after the first)\n",
                 prompt.size(), prefill_s, double(prompt.size()) / prefill_s, out.generated.size(),
                 decode_s, double(decoded) / decode_s);
    if (loaded.split) {
        const auto t = loaded.split->transport_stats();
        std::fprintf(stderr,
                     "transport (front end): %llu messages sent, %llu received, %.1f MB, %.3f s "
                     "in send, %.3f s in recv (waiting for the workers included)\n",
                     (unsigned long long)t.messages_sent, (unsigned long long)t.messages_received,
                     double(t.bytes_sent + t.bytes_received) / 1e6,
                     double(t.send_nanoseconds) / 1e9, double(t.recv_nanoseconds) / 1e9);
    }
}

void add_generate_command(CLI::App& root) {
    auto options = std::make_shared<GenerateOptions>();
    auto* cmd = root.add_subcommand("generate", "complete a prompt with a model");
    options->model.add_to(*cmd);
    add_sampling_options(*cmd, options->sampling);
    auto* prompt = cmd->add_option("-p,--prompt", options->prompt, "prompt text");
    auto* tokens =
        cmd->add_option("--tokens", options->tokens, "prompt as token ids (comma separated)")
            ->delimiter(',');
    prompt->excludes(tokens);
    cmd->callback([options, prompt, tokens] {
        if (prompt->count() + tokens->count() == 0)
            throw CLI::ValidationError("give a prompt: -p TEXT or --tokens IDS");
        run(*options);
    });
    cmd->add_option("-n,--n-predict", options->n_predict, "most tokens to generate")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_flag("--chat", options->chat, "wrap the prompt in the model's chat template");
    cmd->add_option("--system", options->system, "system message (with --chat)");
    cmd->add_flag("--json", options->json, "print one JSON object (tokens and text) at the end");
    cmd->add_flag("--ignore-eos", options->ignore_eos, "keep generating past end-of-generation");
}

const Registration registration{"generate", &add_generate_command};

}  // namespace
}  // namespace ms::app
