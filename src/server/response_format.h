// The JSON bodies OpenAI clients expect: whole responses and streaming chunks, for chat
// (chat.completion / chat.completion.chunk) and completions (text_completion).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/request_parser.h"
#include "tokenizer/vocab.h"

namespace ms::server {

struct Usage {
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    int64_t cached_tokens = 0;
};

struct ChoiceOutput {
    std::string text;
    std::string finish_reason;
    std::vector<engine::TokenEvent> tokens;  // kept only when logprobs were asked for
};

class ResponseFormat {
public:
    ResponseFormat(Endpoint endpoint, std::string id, std::string model, int64_t created,
                   const tok::Vocab& vocab, bool logprobs);

    nlohmann::json whole(const std::vector<ChoiceOutput>& choices, const Usage& usage) const;
    // Chat streams open each choice with the assistant role.
    nlohmann::json role_chunk(int32_t index) const;
    // text_offset: where this text starts in the choice's whole text (completions logprobs).
    nlohmann::json delta_chunk(int32_t index, const std::string& text,
                               const std::vector<engine::TokenEvent>& tokens,
                               size_t text_offset) const;
    nlohmann::json finish_chunk(int32_t index, const std::string& finish_reason) const;
    nlohmann::json usage_chunk(const Usage& usage) const;

private:
    nlohmann::json chunk(nlohmann::json choices) const;
    nlohmann::json logprobs_json(const std::vector<engine::TokenEvent>& tokens,
                                 size_t text_offset) const;
    nlohmann::json chat_logprobs(const std::vector<engine::TokenEvent>& tokens) const;
    nlohmann::json completion_logprobs(const std::vector<engine::TokenEvent>& tokens,
                                       size_t text_offset) const;

    Endpoint endpoint_;
    std::string id_;
    std::string model_;
    int64_t created_;
    const tok::Vocab& vocab_;
    bool logprobs_;
};

nlohmann::json usage_json(const Usage& usage);

}  // namespace ms::server
