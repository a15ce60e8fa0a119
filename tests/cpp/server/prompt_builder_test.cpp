#include "server/prompt_builder.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "byte_vocab.h"
#include "server/api_error.h"

namespace ms::server {
namespace {

using testing::ByteVocab;

ParsedRequest completion(std::vector<int32_t> tokens) {
    ParsedRequest r;
    r.endpoint = Endpoint::Completion;
    r.prompt_tokens = std::move(tokens);
    r.prompt_is_tokens = true;
    return r;
}

TEST(PromptBuilder, ChatUsesTemplate) {
    ParsedRequest r;
    r.messages = {{"system", "S"}, {"user", "hi"}};
    const ByteVocab vocab;
    const auto prompt = build_prompt(r, vocab, tok::ChatTemplate{tok::ChatFormat::ChatML, {}});
    std::string text;
    for (const auto id : prompt)
        if (id < 256) text += char(id);
    EXPECT_EQ(
        text,
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

// A message spelling a special token gets its bytes: only the template makes special tokens.
TEST(PromptBuilder, MessageTextNeverBecomesSpecialTokens) {
    ParsedRequest r;
    r.messages = {{"user", "hi<|end|>"}};
    const ByteVocab vocab;
    const auto prompt = build_prompt(r, vocab, tok::ChatTemplate{tok::ChatFormat::Zephyr, {}});
    EXPECT_EQ(std::count(prompt.begin(), prompt.end(), ByteVocab::end_id), 0);
    const auto bytes = ByteVocab::bytes("hi<|end|>");
    EXPECT_NE(std::search(prompt.begin(), prompt.end(), bytes.begin(), bytes.end()), prompt.end());
}

TEST(PromptBuilder, CompletionTextIsTextUnlessParseSpecial) {
    ParsedRequest r;
    r.endpoint = Endpoint::Completion;
    r.prompt_text = "a<|end|>";
    const ByteVocab vocab;
    const tok::ChatTemplate chatml{tok::ChatFormat::ChatML, {}};
    auto expected = ByteVocab::bytes("a<|end|>");
    expected.insert(expected.begin(), ByteVocab::bos_id);
    EXPECT_EQ(build_prompt(r, vocab, chatml), expected);
    r.parse_special = true;
    EXPECT_EQ(build_prompt(r, vocab, chatml),
              (std::vector<int32_t>{ByteVocab::bos_id, 'a', ByteVocab::end_id}));
}

TEST(PromptBuilder, LogitBiasIdsMustBeInVocabulary) {
    auto r = completion({1});
    r.sampling.logit_bias = {{257, 5.0f}};
    const ByteVocab vocab;
    const tok::ChatTemplate chatml{tok::ChatFormat::ChatML, {}};
    EXPECT_NO_THROW(build_prompt(r, vocab, chatml));
    r.sampling.logit_bias = {{258, 5.0f}};
    try {
        build_prompt(r, vocab, chatml);
        FAIL() << "accepted";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(e.param(), "logit_bias");
    }
    EXPECT_EQ(make_generation_requests(r, {1}, 100, 0)[0].sampling.logit_bias,
              r.sampling.logit_bias);
}

TEST(PromptBuilder, EchoTextIsThePromptAsSent) {
    ParsedRequest r;
    r.endpoint = Endpoint::Completion;
    r.prompt_text = "a<|end|>";
    const ByteVocab vocab;
    EXPECT_EQ(echo_text(r, vocab), "");
    r.echo = true;
    EXPECT_EQ(echo_text(r, vocab), "a<|end|>");
    auto ids = completion({'h', 'i', ByteVocab::end_id, 0xC3});  // a cut UTF-8 character
    ids.echo = true;
    EXPECT_EQ(echo_text(ids, vocab), "hi<|end|>\uFFFD");
}

TEST(PromptBuilder, ChatWithoutTemplateIsRejected) {
    ParsedRequest r;
    r.messages = {{"user", "hi"}};
    EXPECT_THROW(build_prompt(r, ByteVocab(), tok::ChatTemplate{}), ApiError);
}

TEST(PromptBuilder, TokenIdsMustBeInVocabulary) {
    const ByteVocab vocab;
    EXPECT_EQ(
        build_prompt(completion({1, 257}), vocab, tok::ChatTemplate{tok::ChatFormat::ChatML, {}}),
        (std::vector<int32_t>{1, 257}));
    EXPECT_THROW(
        build_prompt(completion({258}), vocab, tok::ChatTemplate{tok::ChatFormat::ChatML, {}}),
        ApiError);
}

TEST(PromptBuilder, TextPromptGetsBos) {
    ParsedRequest r;
    r.endpoint = Endpoint::Completion;
    r.prompt_text = "ab";
    EXPECT_EQ(build_prompt(r, ByteVocab(), tok::ChatTemplate{tok::ChatFormat::ChatML, {}}),
              (std::vector<int32_t>{ByteVocab::bos_id, 'a', 'b'}));
}

TEST(PromptBuilder, ChoicesGetConsecutiveSeeds) {
    auto r = completion({1});
    r.n = 3;
    r.seed = 10;
    const auto choices = make_generation_requests(r, {1, 2}, 100, 999);
    ASSERT_EQ(choices.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(choices[i].sampling.seed, 10 + i);
    EXPECT_EQ(choices[0].max_tokens, 16);  // completions default
    r.seed.reset();
    EXPECT_EQ(make_generation_requests(r, {1}, 100, 999)[2].sampling.seed, 1001u);
}

TEST(PromptBuilder, MaxTokensStaysInsideContext) {
    ParsedRequest chat;
    EXPECT_EQ(make_generation_requests(chat, {1, 2, 3}, 10, 0)[0].max_tokens, 7);
    chat.max_tokens = 50;
    EXPECT_EQ(make_generation_requests(chat, {1, 2, 3}, 10, 0)[0].max_tokens, 7);
    chat.max_tokens = 2;
    EXPECT_EQ(make_generation_requests(chat, {1, 2, 3}, 10, 0)[0].max_tokens, 2);
}

TEST(PromptBuilder, PromptFillingTheContextIsRejected) {
    try {
        make_generation_requests(ParsedRequest{}, std::vector<int32_t>(10, 1), 10, 0);
        FAIL() << "accepted";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(e.param(), "messages");
    }
}

TEST(PromptBuilder, CarriesSamplingAndLogprobs) {
    auto r = completion({1});
    r.sampling.temperature = 0.7f;
    r.top_logprobs = 2;
    r.ignore_eos = true;
    const auto g = make_generation_requests(r, {1}, 100, 0)[0];
    EXPECT_FLOAT_EQ(g.sampling.temperature, 0.7f);
    EXPECT_EQ(g.top_logprobs, 2);
    EXPECT_TRUE(g.ignore_eos);
}

}  // namespace
}  // namespace ms::server
