#include "loadgen/openai_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace ms::loadgen {
namespace {

using nlohmann::json;

BenchRequest request_of(int32_t max_tokens) {
    return {"the cat sat", max_tokens, 3};
}

TEST(ParseUrl, HostPortAndPrefix) {
    const auto url = parse_url("http://127.0.0.1:8080");
    EXPECT_EQ(url.host, "127.0.0.1");
    EXPECT_EQ(url.port, "8080");
    EXPECT_EQ(url.path_prefix, "");
    const auto prefixed = parse_url("http://localhost/proxy/");
    EXPECT_EQ(prefixed.port, "80");
    EXPECT_EQ(prefixed.path_prefix, "/proxy");
    EXPECT_EQ(parse_url("http://[::1]:9000").host, "::1");
    EXPECT_THROW(parse_url("https://example.com"), std::invalid_argument);
    EXPECT_THROW(parse_url("http://:80"), std::invalid_argument);
}

TEST(RequestBody, CompletionsStreamGreedyWithUsage) {
    const auto body = json::parse(request_body(request_of(64), {"m", Api::Completions, true}));
    EXPECT_EQ(body["model"], "m");
    EXPECT_EQ(body["prompt"], "the cat sat");
    EXPECT_EQ(body["max_tokens"], 64);
    EXPECT_EQ(body["stream"], true);
    EXPECT_EQ(body["stream_options"]["include_usage"], true);
    EXPECT_EQ(body["ignore_eos"], true);
    EXPECT_EQ(body["temperature"], 0);
}

TEST(RequestBody, ChatSendsOneUserMessage) {
    const auto body = json::parse(request_body(request_of(8), {"m", Api::ChatCompletions, false}));
    EXPECT_EQ(body["messages"], json::parse(R"([{"role":"user","content":"the cat sat"}])"));
    EXPECT_FALSE(body.contains("prompt"));
    EXPECT_FALSE(body.contains("ignore_eos"));
}

TEST(ApiOfEndpoint, ByLastSegment) {
    EXPECT_EQ(api_of_endpoint("/v1/chat/completions"), Api::ChatCompletions);
    EXPECT_EQ(api_of_endpoint("/v1/completions"), Api::Completions);
}

TEST(StreamRecorder, TimesChunksAndTakesTokensFromUsage) {
    StreamRecorder recorder(Api::Completions, request_of(3), 1.0);
    recorder.on_event(R"({"choices":[{"index":0,"text":"a"}]})", 1.5);
    recorder.on_event(R"({"choices":[{"index":0,"text":"b"}]})", 1.75);
    recorder.on_event(R"({"choices":[{"index":0,"text":""}]})", 1.8);  // no content
    recorder.on_event(R"({"choices":[{"index":0,"text":"c"}]})", 2.0);
    recorder.on_event(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}})", 2.1);
    recorder.on_event("[DONE]", 2.2);
    EXPECT_TRUE(recorder.finished());
    const auto r = recorder.take(2.5);  // latency runs to [DONE], not to the socket's end
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_DOUBLE_EQ(r.ttft, 0.5);
    EXPECT_DOUBLE_EQ(r.latency, 1.2);
    EXPECT_EQ(r.itl, (std::vector<double>{0.25, 0.25}));
    EXPECT_EQ(r.prompt_tokens, 5);
    EXPECT_EQ(r.output_tokens, 3);
    EXPECT_TRUE(r.tokens_from_usage);
}

TEST(StreamRecorder, ChatCountsContentChunksWithoutUsage) {
    StreamRecorder recorder(Api::ChatCompletions, request_of(2), 0.0);
    recorder.on_event(R"({"choices":[{"delta":{"role":"assistant"}}]})", 0.1);  // role only
    recorder.on_event(R"({"choices":[{"delta":{"content":"x"}}]})", 0.2);
    recorder.on_event(R"({"choices":[{"delta":{"content":"y"}}]})", 0.3);
    recorder.on_event("[DONE]", 0.4);
    const auto r = recorder.take(0.4);
    EXPECT_TRUE(r.success);
    EXPECT_DOUBLE_EQ(r.ttft, 0.2);
    EXPECT_EQ(r.output_tokens, 2);
    EXPECT_EQ(r.prompt_tokens, 3);  // the workload's estimate
    EXPECT_FALSE(r.tokens_from_usage);
}

TEST(StreamRecorder, ErrorEventsAndTruncatedStreamsFail) {
    StreamRecorder error(Api::Completions, request_of(2), 0.0);
    error.on_event(R"({"error":{"message":"engine failed","type":"server_error"}})", 0.1);
    EXPECT_TRUE(error.finished());
    const auto failed = error.take(0.2);
    EXPECT_FALSE(failed.success);
    EXPECT_NE(failed.error.find("engine failed"), std::string::npos);

    StreamRecorder cut(Api::Completions, request_of(2), 0.0);
    cut.on_event(R"({"choices":[{"text":"a"}]})", 0.1);
    EXPECT_FALSE(cut.take(0.2).success);

    StreamRecorder garbage(Api::Completions, request_of(2), 0.0);
    garbage.on_event("not json", 0.1);
    EXPECT_FALSE(garbage.take(0.2).success);
}

}  // namespace
}  // namespace ms::loadgen
