#include "server/prompt_builder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "server/api_error.h"

namespace ms::server {
namespace {

constexpr int32_t completion_default_max_tokens = 16;  // OpenAI's default for /v1/completions

// Special tokens come from the template only: message content is always text.
std::vector<int32_t> chat_prompt(const ParsedRequest& request, const tok::Vocab& vocab,
                                 const tok::ChatTemplate& chat_template) {
    try {
        return chat_template.tokenize(vocab, request.messages, true);
    } catch (const std::invalid_argument& e) {
        throw ApiError::invalid(std::string("This model has no usable chat template: ") + e.what(),
                                "messages");
    }
}

void check_token_id(int32_t id, const tok::Vocab& vocab, const char* param) {
    if (id < 0 || id >= vocab.n_tokens())
        throw ApiError::invalid("Token id " + std::to_string(id) + " is outside the vocabulary (" +
                                    std::to_string(vocab.n_tokens()) + " tokens).",
                                param);
}

void check_token_ids(const std::vector<int32_t>& ids, const tok::Vocab& vocab) {
    for (const int32_t id : ids) check_token_id(id, vocab, "prompt");
}

void check_logit_bias(const ParsedRequest& request, const tok::Vocab& vocab) {
    for (const auto& [id, bias] : request.sampling.logit_bias)
        check_token_id(id, vocab, "logit_bias");
}

}  // namespace

std::vector<int32_t> build_prompt(const ParsedRequest& request, const tok::Vocab& vocab,
                                  const tok::ChatTemplate& chat_template) {
    check_logit_bias(request, vocab);
    std::vector<int32_t> prompt;
    if (request.endpoint == Endpoint::Chat) {
        prompt = chat_prompt(request, vocab, chat_template);
    } else if (request.prompt_is_tokens) {
        check_token_ids(request.prompt_tokens, vocab);
        prompt = request.prompt_tokens;
    } else {
        // Text unless the client asks for special-token texts to be tokens (a pre-formatted
        // chat prompt).
        prompt = vocab.encode(request.prompt_text, std::nullopt, request.parse_special);
    }
    if (prompt.empty()) throw ApiError::invalid("The prompt is empty.", "prompt");
    return prompt;
}

std::vector<engine::GenerationRequest> make_generation_requests(const ParsedRequest& request,
                                                                std::vector<int32_t> prompt,
                                                                int32_t n_ctx,
                                                                uint64_t random_seed) {
    const int64_t room = int64_t(n_ctx) - int64_t(prompt.size());
    if (room < 1)
        throw ApiError::invalid("This model's maximum context length is " + std::to_string(n_ctx) +
                                    " tokens, but the prompt has " + std::to_string(prompt.size()) +
                                    " tokens.",
                                request.endpoint == Endpoint::Chat ? "messages" : "prompt");
    const int32_t wanted = request.max_tokens.value_or(
        request.endpoint == Endpoint::Chat ? int32_t(room) : completion_default_max_tokens);
    engine::GenerationRequest base;
    base.prompt = std::move(prompt);
    base.sampling = request.sampling;
    base.max_tokens = int32_t(std::min<int64_t>(wanted, room));
    base.ignore_eos = request.ignore_eos;
    base.top_logprobs = request.top_logprobs;
    std::vector<engine::GenerationRequest> choices(size_t(request.n), base);
    const uint64_t seed = request.seed.value_or(random_seed);
    for (size_t i = 0; i < choices.size(); ++i) choices[i].sampling.seed = seed + i;
    return choices;
}

std::string echo_text(const ParsedRequest& request, const tok::Vocab& vocab) {
    if (!request.echo) return {};
    if (!request.prompt_is_tokens) return request.prompt_text;
    tok::StreamingDetokenizer text(vocab, /*render_special=*/true);
    std::string echo;
    for (const int32_t id : request.prompt_tokens) echo += text.push(id);
    return echo + text.flush();
}

}  // namespace ms::server
