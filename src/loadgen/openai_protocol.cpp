#include "loadgen/openai_protocol.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace ms::loadgen {
namespace {

using nlohmann::json;

// The text a chunk adds: choices[0].text (completions) or choices[0].delta.content (chat).
std::string_view content_of(const json& chunk, Api api) {
    const auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array() || choices->empty()) return {};
    const json& choice = choices->front();
    const json* text = nullptr;
    if (api == Api::Completions) {
        if (auto it = choice.find("text"); it != choice.end()) text = &*it;
    } else if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
        if (auto it = delta->find("content"); it != delta->end()) text = &*it;
    }
    return text && text->is_string() ? std::string_view(text->get_ref<const std::string&>())
                                     : std::string_view{};
}

std::string error_message(const json& error) {
    if (error.is_object() && error.contains("message") && error["message"].is_string())
        return error["message"].get<std::string>();
    return error.dump();
}

}  // namespace

ServerUrl parse_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme))
        throw std::invalid_argument("URL must start with http:// (no TLS): " + std::string(url));
    url.remove_prefix(scheme.size());
    ServerUrl parsed;
    const auto slash = url.find('/');
    auto authority = url.substr(0, slash);
    if (slash != std::string_view::npos) parsed.path_prefix = url.substr(slash);
    while (parsed.path_prefix.ends_with('/')) parsed.path_prefix.pop_back();
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        parsed.port = authority.substr(colon + 1);
        authority = authority.substr(0, colon);
    }
    if (authority.starts_with('[') && authority.ends_with(']'))
        authority = authority.substr(1, authority.size() - 2);
    parsed.host = authority;
    if (parsed.host.empty() || parsed.port.empty())
        throw std::invalid_argument("URL has no host or port: " + std::string(url));
    return parsed;
}

Api api_of_endpoint(std::string_view endpoint) {
    return endpoint.ends_with("chat/completions") ? Api::ChatCompletions : Api::Completions;
}

std::string request_body(const BenchRequest& request, const RequestSettings& settings) {
    json body = {{"model", settings.model},
                 {"max_tokens", request.max_tokens},
                 {"temperature", 0},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}};
    if (settings.ignore_eos) body["ignore_eos"] = true;
    if (settings.api == Api::ChatCompletions)
        body["messages"] = json::array({{{"role", "user"}, {"content", request.prompt}}});
    else
        body["prompt"] = request.prompt;
    return body.dump();
}

StreamRecorder::StreamRecorder(Api api, const BenchRequest& request, double start) : api_(api) {
    record_.start = start;
    record_.prompt_tokens = request.expected_prompt_tokens;
}

void StreamRecorder::on_event(const std::string& data, double now) {
    if (finished()) return;
    if (data == "[DONE]") {
        done_ = true;
        record_.latency = now - record_.start;
        return;
    }
    const json chunk = json::parse(data, nullptr, false);
    if (!chunk.is_object()) {
        record_.error = "malformed stream chunk: " + data.substr(0, 200);
        return;
    }
    if (auto error = chunk.find("error"); error != chunk.end()) {
        record_.error = "server error in stream: " + error_message(*error);
        return;
    }
    if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
        record_.prompt_tokens = usage->value("prompt_tokens", record_.prompt_tokens);
        record_.output_tokens = usage->value("completion_tokens", 0);
        record_.tokens_from_usage = true;
    }
    on_chunk(content_of(chunk, api_), now);
}

void StreamRecorder::on_chunk(std::string_view text, double now) {
    if (text.empty()) return;  // role-only, usage-only or held-back chunks carry no token
    ++content_chunks_;
    if (last_content_)
        record_.itl.push_back(now - *last_content_);
    else
        record_.ttft = now - record_.start;
    last_content_ = now;
}

RequestRecord StreamRecorder::take(double now) {
    if (!done_) record_.latency = now - record_.start;
    if (!done_ && record_.error.empty()) record_.error = "stream ended before [DONE]";
    if (!record_.tokens_from_usage) record_.output_tokens = content_chunks_;
    record_.success = record_.error.empty();
    return std::move(record_);
}

}  // namespace ms::loadgen
