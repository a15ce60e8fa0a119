#include "server/response_format.h"

namespace ms::server {
namespace {

using nlohmann::json;

json utf8_bytes(const std::string& piece) {
    json bytes = json::array();
    for (const unsigned char c : piece) bytes.push_back(int(c));
    return bytes;
}

}  // namespace

json usage_json(const Usage& usage) {
    return {{"prompt_tokens", usage.prompt_tokens},
            {"completion_tokens", usage.completion_tokens},
            {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

ResponseFormat::ResponseFormat(Endpoint endpoint, std::string id, std::string model,
                               int64_t created, const tok::Vocab& vocab, bool logprobs)
    : endpoint_(endpoint),
      id_(std::move(id)),
      model_(std::move(model)),
      created_(created),
      vocab_(vocab),
      logprobs_(logprobs) {}

json ResponseFormat::whole(const std::vector<ChoiceOutput>& choices, const Usage& usage) const {
    const bool chat = endpoint_ == Endpoint::Chat;
    json list = json::array();
    for (size_t i = 0; i < choices.size(); ++i) {
        const auto& c = choices[i];
        json choice{{"index", i},
                    {"logprobs", logprobs_json(c.tokens, 0)},
                    {"finish_reason", c.finish_reason}};
        if (chat)
            choice["message"] = {{"role", "assistant"}, {"content", c.text}};
        else
            choice["text"] = c.text;
        list.push_back(std::move(choice));
    }
    return {{"id", id_},
            {"object", chat ? "chat.completion" : "text_completion"},
            {"created", created_},
            {"model", model_},
            {"choices", std::move(list)},
            {"usage", usage_json(usage)}};
}

json ResponseFormat::chunk(json choices) const {
    return {{"id", id_},
            {"object", endpoint_ == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created_},
            {"model", model_},
            {"choices", std::move(choices)}};
}

json ResponseFormat::role_chunk(int32_t index) const {
    return chunk(json::array({{{"index", index},
                               {"delta", {{"role", "assistant"}, {"content", ""}}},
                               {"logprobs", nullptr},
                               {"finish_reason", nullptr}}}));
}

json ResponseFormat::delta_chunk(int32_t index, const std::string& text,
                                 const std::vector<engine::TokenEvent>& tokens,
                                 size_t text_offset) const {
    json choice{{"index", index},
                {"logprobs", logprobs_json(tokens, text_offset)},
                {"finish_reason", nullptr}};
    if (endpoint_ == Endpoint::Chat)
        choice["delta"] = {{"content", text}};
    else
        choice["text"] = text;
    return chunk(json::array({std::move(choice)}));
}

json ResponseFormat::finish_chunk(int32_t index, const std::string& finish_reason) const {
    json choice{{"index", index}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
    if (endpoint_ == Endpoint::Chat)
        choice["delta"] = json::object();
    else
        choice["text"] = "";
    return chunk(json::array({std::move(choice)}));
}

json ResponseFormat::usage_chunk(const Usage& usage) const {
    json body = chunk(json::array());
    body["usage"] = usage_json(usage);
    return body;
}

json ResponseFormat::logprobs_json(const std::vector<engine::TokenEvent>& tokens,
                                   size_t text_offset) const {
    if (!logprobs_) return nullptr;
    return endpoint_ == Endpoint::Chat ? chat_logprobs(tokens)
                                       : completion_logprobs(tokens, text_offset);
}

json ResponseFormat::chat_logprobs(const std::vector<engine::TokenEvent>& tokens) const {
    json content = json::array();
    for (const auto& t : tokens) {
        json top = json::array();
        for (const auto& [id, logprob] : t.top) {
            const std::string piece = vocab_.token_to_piece(id);
            top.push_back({{"token", piece}, {"logprob", logprob}, {"bytes", utf8_bytes(piece)}});
        }
        const std::string piece = vocab_.token_to_piece(t.token);
        content.push_back({{"token", piece},
                           {"logprob", t.logprob},
                           {"bytes", utf8_bytes(piece)},
                           {"top_logprobs", std::move(top)}});
    }
    return {{"content", std::move(content)}};
}

json ResponseFormat::completion_logprobs(const std::vector<engine::TokenEvent>& tokens,
                                         size_t text_offset) const {
    json pieces = json::array(), logprobs = json::array(), tops = json::array(),
         offsets = json::array();
    for (const auto& t : tokens) {
        const std::string piece = vocab_.token_to_piece(t.token);
        json top = json::object();
        for (const auto& [id, logprob] : t.top) top[vocab_.token_to_piece(id)] = logprob;
        pieces.push_back(piece);
        logprobs.push_back(t.logprob);
        tops.push_back(std::move(top));
        offsets.push_back(text_offset);
        text_offset += piece.size();
    }
    return {{"tokens", std::move(pieces)},
            {"token_logprobs", std::move(logprobs)},
            {"top_logprobs", std::move(tops)},
            {"text_offset", std::move(offsets)}};
}

}  // namespace ms::server
