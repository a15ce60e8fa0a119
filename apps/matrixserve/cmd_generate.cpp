// matrixserve generate: complete a prompt (or a chat turn) with a model, streaming the text.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "engine/session.h"
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

void run(const GenerateOptions& o) {
    auto loaded = load_model(o.model, !o.json);
    const auto& vocab = *loaded.vocab;
    const auto prompt = prompt_tokens(o, vocab, loaded.model->file());
    engine::Session session(*loaded.model, loaded.pool.get(),
                            {.n_ctx = o.model.n_ctx, .n_batch = 256, .block_size = 16});
    engine::Sampler sampler(o.sampling);
    tok::StreamingDetokenizer detok(vocab);
    model::Activations logits;

    const auto start = std::chrono::steady_clock::now();
    session.append(prompt, false, logits);
    const auto prefill_done = std::chrono::steady_clock::now();
    std::vector<tok::Token> generated;
    std::string text;
    for (int i = 0; i < o.n_predict && session.n_past() < o.model.n_ctx; ++i) {
        const tok::Token next =
            sampler.sample({logits.row(0), size_t(logits.cols)}, session.tokens());
        if (!o.ignore_eos && vocab.is_end_of_generation(next)) break;
        generated.push_back(next);
        const std::string piece = detok.push(next);
        text += piece;
        if (!o.json) {
            std::fputs(piece.c_str(), stdout);
            std::fflush(stdout);
        }
        if (i + 1 < o.n_predict) session.append({&next, 1}, false, logits);
    }
    text += detok.flush();
    const auto end = std::chrono::steady_clock::now();
    const double prefill_s = std::chrono::duration<double>(prefill_done - start).count();
    const double decode_s = std::chrono::duration<double>(end - prefill_done).count();
    if (o.json) {
        nlohmann::json out{
            {"prompt_tokens", prompt}, {"generated_tokens", generated}, {"text", text}};
        std::puts(out.dump().c_str());
        return;
    }
    std::fprintf(
        stderr,
        "\n\nprompt: %zu tokens in %.3f s (%.1f t/s); generated: %zu tokens in %.3f s (%.1f t/s)\n",
        prompt.size(), prefill_s, double(prompt.size()) / prefill_s, generated.size(), decode_s,
        double(generated.size()) / decode_s);
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
