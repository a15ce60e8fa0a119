// Parsing and validation of OpenAI request bodies (/v1/chat/completions, /v1/completions).
// Pure: no model, no vocabulary. Every rejection is an ApiError with status 400 naming the
// offending parameter, so clients see what to fix.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"
#include "tokenizer/chat_template.h"

namespace ms::server {

enum class Endpoint { Chat, Completion };

struct ParsedRequest {
    Endpoint endpoint = Endpoint::Chat;
    std::string model;
    std::vector<tok::ChatMessage> messages;  // chat
    std::string prompt_text;                 // completion, given as text
    std::vector<int32_t> prompt_tokens;      // completion, given as token ids
    bool prompt_is_tokens = false;
    bool parse_special = false;         // completion text: special-token texts in it are tokens
    bool echo = false;                  // completions: the prompt comes before each choice's text
    std::optional<int32_t> max_tokens;  // absent: the endpoint's default
    int32_t n = 1;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    std::vector<std::string> stop;
    engine::SamplingParams sampling;
    std::optional<uint64_t> seed;
    int32_t top_logprobs = -1;  // -1: no logprobs
    bool ignore_eos = false;    // vLLM extension
    std::string user;
};

struct RequestLimits {
    int32_t max_n = 16;
    int32_t max_stop_strings = 16;
    int32_t max_top_logprobs = 20;
};

// Throws ApiError (400) for malformed JSON, wrong types, missing fields, values out of range,
// and fields this server does not implement (tools, functions, best_of other than n, ...).
ParsedRequest parse_request(Endpoint endpoint, std::string_view body,
                            const RequestLimits& limits = {});

}  // namespace ms::server
