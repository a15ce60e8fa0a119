#include "server/request_parser.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "server/api_error.h"

namespace ms::server {
namespace {

using nlohmann::json;

// A field that is present and not null (clients send null for "use the default").
const json* find_field(const json& body, const char* name) {
    const auto it = body.find(name);
    return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

std::optional<double> number_in(const json& body, const char* name, double lo, double hi) {
    const json* value = find_field(body, name);
    if (!value) return std::nullopt;
    if (!value->is_number())
        throw ApiError::invalid(std::string("'") + name + "' must be a number", name);
    const double x = value->get<double>();
    if (!(x >= lo && x <= hi))
        throw ApiError::invalid(std::string("'") + name + "' must be between " + format_number(lo) +
                                    " and " + format_number(hi) + ", got " + format_number(x),
                                name);
    return x;
}

std::optional<int64_t> integer_in(const json& body, const char* name, int64_t lo, int64_t hi) {
    const json* value = find_field(body, name);
    if (!value) return std::nullopt;
    if (!value->is_number_integer())
        throw ApiError::invalid(std::string("'") + name + "' must be an integer", name);
    // Non-negative literals parse as unsigned; hi >= 0 keeps the casts in range.
    const bool in_range =
        value->is_number_unsigned()
            ? value->get<uint64_t>() <= uint64_t(hi) && int64_t(value->get<uint64_t>()) >= lo
            : value->get<int64_t>() >= lo && value->get<int64_t>() <= hi;
    if (!in_range)
        throw ApiError::invalid(std::string("'") + name + "' must be between " +
                                    std::to_string(lo) + " and " + std::to_string(hi),
                                name);
    return value->get<int64_t>();
}

std::optional<bool> boolean(const json& body, const char* name) {
    const json* value = find_field(body, name);
    if (!value) return std::nullopt;
    if (!value->is_boolean())
        throw ApiError::invalid(std::string("'") + name + "' must be a boolean", name);
    return value->get<bool>();
}

std::optional<std::string> text(const json& body, const char* name) {
    const json* value = find_field(body, name);
    if (!value) return std::nullopt;
    if (!value->is_string())
        throw ApiError::invalid(std::string("'") + name + "' must be a string", name);
    return value->get<std::string>();
}

json parse_object(std::string_view body) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded()) throw ApiError::invalid("The request body is not valid JSON.");
    if (!parsed.is_object()) throw ApiError::invalid("The request body must be a JSON object.");
    return parsed;
}

// Message content: a string, or a list of {"type": "text", "text": ...} parts joined.
std::string message_content(const json& message, const std::string& param) {
    const json* content = find_field(message, "content");
    if (!content) throw ApiError::invalid("Each message needs a 'content'.", param);
    if (content->is_string()) return content->get<std::string>();
    if (!content->is_array())
        throw ApiError::invalid("'content' must be a string or a list of text parts.", param);
    std::string joined;
    for (const auto& part : *content) {
        if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") ||
            !part["text"].is_string())
            throw ApiError::invalid("Only text content parts are supported.", param);
        joined += part["text"].get<std::string>();
    }
    return joined;
}

std::string message_role(const json& message, const std::string& param) {
    const json* role = find_field(message, "role");
    if (!role || !role->is_string())
        throw ApiError::invalid("Each message needs a string 'role'.", param);
    const std::string name = role->get<std::string>();
    if (name == "developer") return "system";  // OpenAI's newer name for the system role
    if (name == "system" || name == "user" || name == "assistant") return name;
    throw ApiError::invalid("Unknown role '" + name + "': use system, user or assistant.", param);
}

std::vector<tok::ChatMessage> parse_messages(const json& body) {
    const json* messages = find_field(body, "messages");
    if (!messages) throw ApiError::invalid("'messages' is required.", "messages");
    if (!messages->is_array() || messages->empty())
        throw ApiError::invalid("'messages' must be a non-empty list.", "messages");
    std::vector<tok::ChatMessage> parsed;
    for (size_t i = 0; i < messages->size(); ++i) {
        const json& message = (*messages)[i];
        const std::string param = "messages[" + std::to_string(i) + "]";
        if (!message.is_object()) throw ApiError::invalid("Each message must be an object.", param);
        parsed.push_back(
            {message_role(message, param + ".role"), message_content(message, param + ".content")});
    }
    return parsed;
}

bool is_token_list(const json& value) {
    if (!value.is_array() || value.empty()) return false;
    for (const auto& id : value)
        if (!id.is_number_integer()) return false;
    return true;
}

std::vector<int32_t> token_ids(const json& list) {
    std::vector<int32_t> ids;
    for (const auto& id : list) {
        if (id.is_number_unsigned() ? id.get<uint64_t>() > INT32_MAX
                                    : id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
            throw ApiError::invalid("Token ids in 'prompt' must be non-negative 32-bit integers.",
                                    "prompt");
        ids.push_back(id.get<int32_t>());
    }
    return ids;
}

// prompt: "text", [ids...], or a batch of exactly one of those.
void parse_prompt(const json& body, ParsedRequest& request) {
    const json* prompt = find_field(body, "prompt");
    if (!prompt) throw ApiError::invalid("'prompt' is required.", "prompt");
    const json* single = prompt;
    if (prompt->is_array() && !prompt->empty() && !is_token_list(*prompt)) {
        if (prompt->size() != 1)
            throw ApiError::invalid("Only one prompt per request is supported.", "prompt");
        single = &(*prompt)[0];
    }
    if (single->is_string()) {
        request.prompt_text = single->get<std::string>();
    } else if (is_token_list(*single)) {
        request.prompt_tokens = token_ids(*single);
        request.prompt_is_tokens = true;
    } else {
        throw ApiError::invalid("'prompt' must be a string or a non-empty list of token ids.",
                                "prompt");
    }
}

std::vector<std::string> parse_stop(const json& body, const RequestLimits& limits) {
    const json* stop = find_field(body, "stop");
    if (!stop) return {};
    std::vector<std::string> strings;
    if (stop->is_string()) {
        strings.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
        for (const auto& s : *stop) {
            if (!s.is_string())
                throw ApiError::invalid("'stop' must be a string or a list of strings.", "stop");
            strings.push_back(s.get<std::string>());
        }
    } else {
        throw ApiError::invalid("'stop' must be a string or a list of strings.", "stop");
    }
    if (int64_t(strings.size()) > limits.max_stop_strings)
        throw ApiError::invalid(
            "At most " + std::to_string(limits.max_stop_strings) + " stop strings.", "stop");
    for (const auto& s : strings)
        if (s.empty()) throw ApiError::invalid("Stop strings must not be empty.", "stop");
    return strings;
}

void parse_stream(const json& body, ParsedRequest& request) {
    request.stream = boolean(body, "stream").value_or(false);
    const json* options = find_field(body, "stream_options");
    if (!options) return;
    if (!request.stream)
        throw ApiError::invalid("'stream_options' is only allowed when 'stream' is true.",
                                "stream_options");
    if (!options->is_object())
        throw ApiError::invalid("'stream_options' must be an object.", "stream_options");
    request.include_usage = boolean(*options, "include_usage").value_or(false);
}

int32_t bias_token(const std::string& key) {
    int32_t id = -1;
    const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (error != std::errc() || end != key.data() + key.size() || id < 0)
        throw ApiError::invalid("'logit_bias' keys must be token ids, got '" + key + "'.",
                                "logit_bias");
    return id;
}

float bias_value(const std::string& key, const json& value) {
    if (!value.is_number() || !(value.get<double>() >= -100.0 && value.get<double>() <= 100.0))
        throw ApiError::invalid("'logit_bias' values must be numbers between -100 and 100, got " +
                                    value.dump() + " for token " + key + ".",
                                "logit_bias");
    return float(value.get<double>());
}

// OpenAI's {"token id": bias}. The ids are checked against the vocabulary with the prompt.
std::vector<std::pair<int32_t, float>> parse_logit_bias(const json& body) {
    const json* bias = find_field(body, "logit_bias");
    if (!bias) return {};
    if (!bias->is_object())
        throw ApiError::invalid("'logit_bias' must be an object mapping token ids to biases.",
                                "logit_bias");
    std::map<int32_t, float> by_token;
    for (const auto& item : bias->items())
        by_token[bias_token(item.key())] = bias_value(item.key(), item.value());
    return {by_token.begin(), by_token.end()};
}

void parse_sampling(const json& body, ParsedRequest& request) {
    auto& s = request.sampling;
    s.temperature = float(number_in(body, "temperature", 0.0, 2.0).value_or(1.0));
    s.top_p = float(number_in(body, "top_p", 1e-9, 1.0).value_or(1.0));
    s.top_k = int32_t(std::max<int64_t>(0, integer_in(body, "top_k", -1, INT32_MAX).value_or(0)));
    s.min_p = float(number_in(body, "min_p", 0.0, 1.0).value_or(0.0));
    s.presence_penalty = float(number_in(body, "presence_penalty", -2.0, 2.0).value_or(0.0));
    s.frequency_penalty = float(number_in(body, "frequency_penalty", -2.0, 2.0).value_or(0.0));
    s.repetition_penalty = float(number_in(body, "repetition_penalty", 1e-6, 10.0).value_or(1.0));
    s.logit_bias = parse_logit_bias(body);
    if (const json* seed = find_field(body, "seed")) {
        if (!seed->is_number_integer())
            throw ApiError::invalid("'seed' must be an integer.", "seed");
        request.seed =
            seed->is_number_unsigned() ? seed->get<uint64_t>() : uint64_t(seed->get<int64_t>());
    }
    try {
        s.validate();
    } catch (const std::invalid_argument& e) {
        throw ApiError::invalid(e.what());
    }
}

void parse_logprobs(const json& body, ParsedRequest& request, const RequestLimits& limits) {
    if (request.endpoint == Endpoint::Completion) {
        request.top_logprobs =
            int32_t(integer_in(body, "logprobs", 0, limits.max_top_logprobs).value_or(-1));
        return;
    }
    const bool wanted = boolean(body, "logprobs").value_or(false);
    const auto top = integer_in(body, "top_logprobs", 0, limits.max_top_logprobs);
    if (top && !wanted)
        throw ApiError::invalid("'top_logprobs' needs 'logprobs' set to true.", "top_logprobs");
    if (wanted) request.top_logprobs = int32_t(top.value_or(0));
}

ApiError unsupported(const char* name, const std::string& why) {
    return ApiError::invalid(std::string("'") + name + "' is not supported" + why + ".", name);
}

// Completions only: echo and parse_special. Chat has neither, so true there is an error.
void parse_prompt_options(const json& body, ParsedRequest& request) {
    const bool echo = boolean(body, "echo").value_or(false);
    const bool parse_special = boolean(body, "parse_special").value_or(false);
    if (request.endpoint == Endpoint::Chat) {
        if (echo) throw unsupported("echo", " in chat completions");
        if (parse_special) throw unsupported("parse_special", " in chat completions");
        return;
    }
    if (echo && request.top_logprobs >= 0)
        throw ApiError::invalid(
            "'echo' with 'logprobs' is not supported: the prompt's log-probabilities are not "
            "computed.",
            "echo");
    request.echo = echo;
    request.parse_special = parse_special;
}

// Fields this server does not implement: ignoring them would answer another question with a
// 200, so they are rejected unless their value changes nothing.
void reject_unsupported(const json& body, const ParsedRequest& request) {
    for (const char* name : {"tools", "tool_choice", "functions", "function_call"})
        if (find_field(body, name)) throw unsupported(name, "");
    const json* format = find_field(body, "response_format");
    if (format && !(format->is_object() && format->value("type", json()) == "text"))
        throw unsupported("response_format", " (only {\"type\": \"text\"})");
    const json* suffix = find_field(body, "suffix");
    if (suffix && *suffix != "") throw unsupported("suffix", "");
    const auto best_of = integer_in(body, "best_of", 1, INT32_MAX);
    if (best_of && *best_of != request.n)
        throw unsupported("best_of", " other than 'n' (every choice generated is returned)");
}

void parse_lengths(const json& body, ParsedRequest& request, const RequestLimits& limits) {
    constexpr int64_t most_tokens = 1 << 20;
    const auto max_tokens = integer_in(body, "max_tokens", 1, most_tokens);
    const auto max_completion_tokens = integer_in(body, "max_completion_tokens", 1, most_tokens);
    if (max_completion_tokens)
        request.max_tokens = int32_t(*max_completion_tokens);
    else if (max_tokens)
        request.max_tokens = int32_t(*max_tokens);
    request.n = int32_t(integer_in(body, "n", 1, limits.max_n).value_or(1));
}

}  // namespace

ParsedRequest parse_request(Endpoint endpoint, std::string_view body, const RequestLimits& limits) {
    const json parsed = parse_object(body);
    ParsedRequest request;
    request.endpoint = endpoint;
    const auto model = text(parsed, "model");
    if (!model) throw ApiError::invalid("'model' is required.", "model");
    request.model = *model;
    if (endpoint == Endpoint::Chat)
        request.messages = parse_messages(parsed);
    else
        parse_prompt(parsed, request);
    parse_lengths(parsed, request, limits);
    parse_stream(parsed, request);
    request.stop = parse_stop(parsed, limits);
    parse_sampling(parsed, request);
    parse_logprobs(parsed, request, limits);
    parse_prompt_options(parsed, request);
    reject_unsupported(parsed, request);
    request.ignore_eos = boolean(parsed, "ignore_eos").value_or(false);
    request.user = text(parsed, "user").value_or("");
    return request;
}

}  // namespace ms::server
