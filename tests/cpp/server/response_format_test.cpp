#include "server/response_format.h"

#include <gtest/gtest.h>

#include "byte_vocab.h"
#include "server/api_error.h"
#include "server/json_text.h"

namespace ms::server {
namespace {

using nlohmann::json;
using testing::ByteVocab;

TEST(ResponseFormat, ChatWholeResponse) {
    const ByteVocab vocab;
    const ResponseFormat format(Endpoint::Chat, "chatcmpl-1", "m", 7, vocab, false);
    const json body = format.whole({{"hi", "stop", {}}}, {10, 2, 4});
    EXPECT_EQ(body["object"], "chat.completion");
    EXPECT_EQ(body["choices"][0]["message"]["content"], "hi");
    EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
    EXPECT_TRUE(body["choices"][0]["logprobs"].is_null());
    EXPECT_EQ(body["usage"]["total_tokens"], 12);
    EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(ResponseFormat, ChatChunks) {
    const ByteVocab vocab;
    const ResponseFormat format(Endpoint::Chat, "c", "m", 7, vocab, false);
    EXPECT_EQ(format.role_chunk(1)["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(format.role_chunk(1)["choices"][0]["index"], 1);
    EXPECT_EQ(format.delta_chunk(0, "x", {}, 0)["choices"][0]["delta"]["content"], "x");
    const json finish = format.finish_chunk(0, "length");
    EXPECT_EQ(finish["object"], "chat.completion.chunk");
    EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(finish["choices"][0]["delta"].empty());
    const json usage = format.usage_chunk({3, 4, 0});
    EXPECT_TRUE(usage["choices"].empty());
    EXPECT_EQ(usage["usage"]["completion_tokens"], 4);
}

TEST(ResponseFormat, ChatLogprobs) {
    const ByteVocab vocab;
    const ResponseFormat format(Endpoint::Chat, "c", "m", 7, vocab, true);
    engine::TokenEvent event{'a', -0.5f, {{'a', -0.5f}, {'b', -1.5f}}};
    const json lp = format.delta_chunk(0, "a", {event}, 0)["choices"][0]["logprobs"]["content"][0];
    EXPECT_EQ(lp["token"], "a");
    EXPECT_FLOAT_EQ(lp["logprob"].get<float>(), -0.5f);
    EXPECT_EQ(lp["bytes"], json::array({97}));
    EXPECT_EQ(lp["top_logprobs"][1]["token"], "b");
}

TEST(ResponseFormat, CompletionLogprobsAndText) {
    const ByteVocab vocab;
    const ResponseFormat format(Endpoint::Completion, "cmpl-1", "m", 7, vocab, true);
    engine::TokenEvent a{'a', -0.1f, {{'a', -0.1f}}};
    engine::TokenEvent b{'b', -0.2f, {{'b', -0.2f}}};
    const json body = format.whole({{"ab", "length", {a, b}}}, {1, 2, 0});
    EXPECT_EQ(body["object"], "text_completion");
    const json& choice = body["choices"][0];
    EXPECT_EQ(choice["text"], "ab");
    EXPECT_EQ(choice["logprobs"]["tokens"], json::array({"a", "b"}));
    EXPECT_EQ(choice["logprobs"]["text_offset"], json::array({0, 1}));
    EXPECT_FLOAT_EQ(choice["logprobs"]["top_logprobs"][1]["b"].get<float>(), -0.2f);
}

TEST(JsonText, SseFraming) {
    EXPECT_EQ(sse_event(json{{"a", "x\ny"}}), "data: {\"a\":\"x\\ny\"}\n\n");
    EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(JsonText, InvalidUtf8IsReplacedNotThrown) {
    EXPECT_EQ(dump_json(json("a\xE2")), "\"a\xEF\xBF\xBD\"");
}

TEST(ApiError, OpenAiShape) {
    const json body = json::parse(ApiError::invalid("bad", "n").to_json());
    EXPECT_EQ(body["error"]["message"], "bad");
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
    EXPECT_EQ(body["error"]["param"], "n");
    EXPECT_TRUE(body["error"]["code"].is_null());
    EXPECT_EQ(ApiError::queue_full("x").status(), 429);
    EXPECT_EQ(ApiError::unauthorized().status(), 401);
    EXPECT_EQ(ApiError::draining().status(), 503);
}

}  // namespace
}  // namespace ms::server
