#include "server/request_parser.h"

#include <gtest/gtest.h>

#include "server/api_error.h"

namespace ms::server {
namespace {

ParsedRequest chat(const std::string& body) {
    return parse_request(Endpoint::Chat, body);
}
ParsedRequest completion(const std::string& body) {
    return parse_request(Endpoint::Completion, body);
}

// The ApiError a body provokes, with its param.
std::pair<int, std::string> rejection(Endpoint endpoint, const std::string& body) {
    try {
        parse_request(endpoint, body);
    } catch (const ApiError& e) {
        return {e.status(), e.param()};
    }
    return {0, "accepted"};
}

const std::string messages = R"("messages":[{"role":"user","content":"hi"}])";

TEST(RequestParser, ChatDefaults) {
    const auto r = chat(R"({"model":"m",)" + messages + "}");
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].role, "user");
    EXPECT_EQ(r.messages[0].content, "hi");
    EXPECT_FALSE(r.max_tokens.has_value());
    EXPECT_EQ(r.n, 1);
    EXPECT_FALSE(r.stream);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
    EXPECT_EQ(r.top_logprobs, -1);
    EXPECT_FALSE(r.seed.has_value());
}

TEST(RequestParser, EveryParameter) {
    const auto r = chat(R"({"model":"m",)" + messages + R"(,
        "max_tokens":5,"max_completion_tokens":7,"n":3,"stream":true,
        "stream_options":{"include_usage":true},"stop":["a","bc"],"temperature":0.5,
        "top_p":0.9,"top_k":40,"min_p":0.05,"seed":42,"presence_penalty":0.5,
        "frequency_penalty":-0.5,"repetition_penalty":1.1,"logprobs":true,"top_logprobs":3,
        "user":"u1","ignore_eos":true})");
    EXPECT_EQ(r.max_tokens, 7);  // max_completion_tokens wins
    EXPECT_EQ(r.n, 3);
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
    EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "bc"}));
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
    EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
    EXPECT_EQ(r.sampling.top_k, 40);
    EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
    EXPECT_EQ(r.seed, 42u);
    EXPECT_FLOAT_EQ(r.sampling.presence_penalty, 0.5f);
    EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, -0.5f);
    EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
    EXPECT_EQ(r.top_logprobs, 3);
    EXPECT_EQ(r.user, "u1");
    EXPECT_TRUE(r.ignore_eos);
}

TEST(RequestParser, NullMeansDefault) {
    const auto r = chat(R"({"model":"m",)" + messages + R"(,"temperature":null,"stop":null})");
    EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
    EXPECT_TRUE(r.stop.empty());
}

TEST(RequestParser, ContentPartsAndDeveloperRole) {
    const auto r = chat(R"({"model":"m","messages":[{"role":"developer","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})");
    EXPECT_EQ(r.messages[0].role, "system");
    EXPECT_EQ(r.messages[1].content, "ab");
}

TEST(RequestParser, CompletionPromptForms) {
    EXPECT_EQ(completion(R"({"model":"m","prompt":"hello"})").prompt_text, "hello");
    const auto ids = completion(R"({"model":"m","prompt":[1,2,3]})");
    EXPECT_TRUE(ids.prompt_is_tokens);
    EXPECT_EQ(ids.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(completion(R"({"model":"m","prompt":["x"]})").prompt_text, "x");
    EXPECT_EQ(completion(R"({"model":"m","prompt":[[4,5]]})").prompt_tokens,
              (std::vector<int32_t>{4, 5}));
    EXPECT_EQ(completion(R"({"model":"m","prompt":"p","logprobs":2})").top_logprobs, 2);
    EXPECT_EQ(completion(R"({"model":"m","prompt":"p","stop":"\n"})").stop,
              std::vector<std::string>{"\n"});
}

TEST(RequestParser, RejectsMalformedBodies) {
    EXPECT_EQ(rejection(Endpoint::Chat, "{not json").first, 400);
    EXPECT_EQ(rejection(Endpoint::Chat, "[1,2]").first, 400);
    EXPECT_EQ(rejection(Endpoint::Chat, "").first, 400);
    EXPECT_EQ(rejection(Endpoint::Chat, "{\"messages\":[]}"),
              std::make_pair(400, std::string("model")));
}

TEST(RequestParser, RejectsBadMessages) {
    const auto bad = [](const std::string& m) {
        return rejection(Endpoint::Chat, R"({"model":"m","messages":)" + m + "}");
    };
    EXPECT_EQ(bad("[]").second, "messages");
    EXPECT_EQ(bad("\"hi\"").second, "messages");
    EXPECT_EQ(bad(R"([{"role":"wizard","content":"x"}])").second, "messages[0].role");
    EXPECT_EQ(bad(R"([{"content":"x"}])").second, "messages[0].role");
    EXPECT_EQ(bad(R"([{"role":"user"}])").second, "messages[0].content");
    EXPECT_EQ(bad(R"([{"role":"user","content":5}])").second, "messages[0].content");
    EXPECT_EQ(bad(R"([{"role":"user","content":[{"type":"image_url"}]}])").second,
              "messages[0].content");
    EXPECT_EQ(rejection(Endpoint::Chat, R"({"model":"m"})").second, "messages");
}

TEST(RequestParser, RejectsWrongTypesAndRanges) {
    const auto bad = [](const std::string& field) {
        return rejection(Endpoint::Chat, R"({"model":"m",)" + messages + "," + field + "}");
    };
    const std::pair<const char*, const char*> cases[] = {
        {R"("temperature":"hot")", "temperature"},
        {R"("temperature":2.5)", "temperature"},
        {R"("top_p":0)", "top_p"},
        {R"("top_p":1.5)", "top_p"},
        {R"("top_k":-2)", "top_k"},
        {R"("top_k":1.5)", "top_k"},
        {R"("min_p":-0.1)", "min_p"},
        {R"("n":0)", "n"},
        {R"("n":1000)", "n"},
        {R"("max_tokens":0)", "max_tokens"},
        {R"("max_tokens":"ten")", "max_tokens"},
        {R"("max_completion_tokens":-1)", "max_completion_tokens"},
        {R"("presence_penalty":3)", "presence_penalty"},
        {R"("frequency_penalty":-3)", "frequency_penalty"},
        {R"("repetition_penalty":0)", "repetition_penalty"},
        {R"("seed":"x")", "seed"},
        {R"("stream":"yes")", "stream"},
        {R"("stream_options":{"include_usage":true})", "stream_options"},
        {R"("stop":5)", "stop"},
        {R"("stop":[""])", "stop"},
        {R"("stop":["a",1])", "stop"},
        {R"("logprobs":1)", "logprobs"},
        {R"("top_logprobs":2)", "top_logprobs"},
        {R"("logprobs":true,"top_logprobs":21)", "top_logprobs"},
        {R"("user":7)", "user"},
        {R"("model":3)", "model"},
    };
    for (const auto& [field, param] : cases)
        EXPECT_EQ(bad(field), std::make_pair(400, std::string(param))) << field;
}

TEST(RequestParser, RejectsBadPrompts) {
    const auto bad = [](const std::string& p) {
        return rejection(Endpoint::Completion, R"({"model":"m","prompt":)" + p + "}");
    };
    EXPECT_EQ(bad("5").second, "prompt");
    EXPECT_EQ(bad("[]").second, "prompt");
    EXPECT_EQ(bad("[-1]").second, "prompt");
    EXPECT_EQ(bad("[1.5]").second, "prompt");
    EXPECT_EQ(bad(R"(["a","b"])").second, "prompt");
    EXPECT_EQ(bad("[4294967296]").second, "prompt");
    EXPECT_EQ(rejection(Endpoint::Completion, R"({"model":"m"})").second, "prompt");
    EXPECT_EQ(
        rejection(Endpoint::Completion, R"({"model":"m","prompt":"p","logprobs":true})").second,
        "logprobs");
}

TEST(RequestParser, LogitBias) {
    const auto r =
        chat(R"({"model":"m",)" + messages + R"(,"logit_bias":{"50":-100,"7":2.5,"0":100}})");
    EXPECT_EQ(r.sampling.logit_bias,
              (std::vector<std::pair<int32_t, float>>{{0, 100.0f}, {7, 2.5f}, {50, -100.0f}}));
    EXPECT_EQ(completion(R"({"model":"m","prompt":"p","logit_bias":{"3":1}})").sampling.logit_bias,
              (std::vector<std::pair<int32_t, float>>{{3, 1.0f}}));
    EXPECT_TRUE(
        chat(R"({"model":"m",)" + messages + R"(,"logit_bias":{}})").sampling.logit_bias.empty());
}

TEST(RequestParser, RejectsBadLogitBias) {
    for (const char* bias :
         {R"([1])", R"({"x":1})", R"({"-1":1})", R"({"1.5":1})", R"({"":1})",
          R"({"99999999999":1})", R"({"1":101})", R"({"1":-100.5})", R"({"1":"up"})"})
        EXPECT_EQ(rejection(Endpoint::Chat,
                            R"({"model":"m",)" + messages + R"(,"logit_bias":)" + bias + "}"),
                  std::make_pair(400, std::string("logit_bias")))
            << bias;
}

TEST(RequestParser, EchoAndParseSpecialAreCompletionOptions) {
    const auto plain = completion(R"({"model":"m","prompt":"p"})");
    EXPECT_FALSE(plain.echo);
    EXPECT_FALSE(plain.parse_special);  // a text prompt is text unless asked
    const auto r = completion(R"({"model":"m","prompt":"p","echo":true,"parse_special":true})");
    EXPECT_TRUE(r.echo);
    EXPECT_TRUE(r.parse_special);
    EXPECT_EQ(
        rejection(Endpoint::Completion, R"({"model":"m","prompt":"p","echo":true,"logprobs":0})"),
        std::make_pair(400, std::string("echo")));
    EXPECT_EQ(rejection(Endpoint::Chat, R"({"model":"m",)" + messages + R"(,"echo":true})"),
              std::make_pair(400, std::string("echo")));
    EXPECT_EQ(
        rejection(Endpoint::Chat, R"({"model":"m",)" + messages + R"(,"parse_special":true})"),
        std::make_pair(400, std::string("parse_special")));
    EXPECT_FALSE(chat(R"({"model":"m",)" + messages + R"(,"echo":false})").echo);
}

// Fields that would be ignored are refused, on both endpoints, naming the field.
TEST(RequestParser, RejectsUnsupportedFields) {
    const std::pair<const char*, const char*> cases[] = {
        {R"("tools":[{"type":"function","function":{"name":"f"}}])", "tools"},
        {R"("tool_choice":"auto")", "tool_choice"},
        {R"("functions":[{"name":"f"}])", "functions"},
        {R"("function_call":"auto")", "function_call"},
        {R"("response_format":{"type":"json_object"})", "response_format"},
        {R"("response_format":"text")", "response_format"},
        {R"("suffix":"end")", "suffix"},
        {R"("best_of":2)", "best_of"},
        {R"("n":2,"best_of":3)", "best_of"},
        {R"("best_of":"2")", "best_of"},
    };
    for (const auto& [field, param] : cases) {
        const std::string rest = std::string(",") + field + "}";
        EXPECT_EQ(rejection(Endpoint::Chat, R"({"model":"m",)" + messages + rest),
                  std::make_pair(400, std::string(param)))
            << field;
        EXPECT_EQ(rejection(Endpoint::Completion, R"({"model":"m","prompt":"p")" + rest),
                  std::make_pair(400, std::string(param)))
            << field;
    }
}

// Values that change nothing are accepted.
TEST(RequestParser, AcceptsNeutralValuesOfUnsupportedFields) {
    for (const char* field :
         {R"("response_format":{"type":"text"})", R"("suffix":"")", R"("suffix":null)",
          R"("best_of":1)", R"("n":3,"best_of":3)", R"("tools":null)", R"("functions":null)"})
        EXPECT_NO_THROW(completion(std::string(R"({"model":"m","prompt":"p",)") + field + "}"))
            << field;
}

}  // namespace
}  // namespace ms::server
