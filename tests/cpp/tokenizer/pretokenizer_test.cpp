// The pre-tokenizer regexes, one word list per tokenizer.ggml.pre family.
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

namespace ms::tok {
namespace {

using Words = std::vector<std::string>;

Words split_with(std::string_view pre, std::string_view text) {
    const auto spec = pre_tokenizer_spec(pre);
    if (!spec) throw std::runtime_error("no spec");
    return PreTokenizer(spec->patterns).split(text);
}

TEST(PreTokenizer, Gpt2KeepsOneSpaceForTheNextWord) {
    EXPECT_EQ(split_with("gpt-2", "Hello world  123's"),
              (Words{"Hello", " world", " ", " 123", "'s"}));
    EXPECT_EQ(split_with("gpt-2", "a\t\tb"), (Words{"a", "\t", "\t", "b"}));
    EXPECT_EQ(split_with("gpt-2", "x  "), (Words{"x", "  "}));
}

TEST(PreTokenizer, SmolLmSplitsEveryDigit) {
    EXPECT_EQ(split_with("smollm", "abc 2024!"), (Words{"abc", " ", "2", "0", "2", "4", "!"}));
}

TEST(PreTokenizer, Qwen2SplitsDigitsAndKeepsPunctuationWithLetters) {
    EXPECT_EQ(split_with("qwen2", "Hi, 42 apples\n\n"),
              (Words{"Hi", ",", " ", "4", "2", " apples", "\n\n"}));
    EXPECT_EQ(split_with("qwen2", "I'M ok"), (Words{"I", "'M", " ok"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThree) {
    EXPECT_EQ(split_with("llama-bpe", "12345 x"), (Words{"123", "45", " x"}));
}

TEST(PreTokenizer, UnicodeCategoriesComeFromPcre2) {
    EXPECT_EQ(split_with("gpt-2", "naïve 東京 ٣"), (Words{"naïve", " 東京", " ٣"}));
    // U+0085 (NEL) is white space for llama.cpp and Hugging Face, though not for PCRE2's \s.
    EXPECT_EQ(split_with("gpt-2", "a\u0085\u0085b"), (Words{"a", "\u0085", "\u0085", "b"}));
}

TEST(PreTokenizer, IllFormedBytesBecomeReplacementCharacters) {
    EXPECT_EQ(split_with("gpt-2", "a\xC3(b"), (Words{"a", "\uFFFD(", "b"}));
    // An encoded surrogate passes through unchanged, as llama.cpp keeps it.
    EXPECT_EQ(split_with("gpt-2", "\xED\xA0\x80!"), (Words{"\xED\xA0\x80!"}));
}

TEST(PreTokenizer, UnknownNameHasNoSpec) {
    EXPECT_FALSE(pre_tokenizer_spec("no-such-pre"));
}

}  // namespace
}  // namespace ms::tok
