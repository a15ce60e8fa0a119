// The regex subset against std::regex (ECMAScript, whole-string match) on random strings, and
// the errors for what the subset leaves out.
#include "grammar/regex.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "grammar/matcher.h"

namespace ms::grammar {
namespace {

bool matches(const std::shared_ptr<Automaton>& a, std::string_view text) {
    Matcher m(a);
    return m.accept(text) && m.can_finish();
}

// Random strings over a small alphabet, biased to the pattern's own characters.
std::vector<std::string> candidates(const std::string& pattern, std::mt19937& rng) {
    std::string alphabet = pattern + "ab019_ -.Z\n";
    std::vector<std::string> out = {""};
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        const int length = int(rng() % 9);
        for (int k = 0; k < length; ++k) s += alphabet[rng() % alphabet.size()];
        out.push_back(s);
    }
    return out;
}

class RegexVsStd : public testing::TestWithParam<std::string> {};

TEST_P(RegexVsStd, SameStringsMatch) {
    const std::string pattern = GetParam();
    const std::regex reference(pattern, std::regex::ECMAScript);
    const auto automaton = std::make_shared<Automaton>(compile_regex(pattern));
    std::mt19937 rng(7);
    int matched = 0;
    for (const auto& s : candidates(pattern, rng)) {
        const bool expected = std::regex_match(s, reference);
        EXPECT_EQ(matches(automaton, s), expected)
            << "pattern " << pattern << " text '" << s << "'";
        matched += expected;
    }
    RecordProperty("matched", matched);
}

INSTANTIATE_TEST_SUITE_P(Patterns, RegexVsStd,
                         testing::Values("abc", "a|b|", "a*b+c?", "(ab|a)*b", "[a-c0-9]+",
                                         "[^a-c]{2,3}", "\\d{1,3}(\\.\\d+)?", "\\w+\\s\\W?",
                                         "(a|b){2}z{0,}", "[-a]+-", "x.y", "^(?:0|[1-9][0-9]*)$",
                                         "[\\d_]+|\\S\\S", "[.][a\\]]"));

TEST(Regex, NamedGroupIsAPlainGroup) {
    const auto a = std::make_shared<Automaton>(compile_regex("(?<word>ab)+"));
    EXPECT_TRUE(matches(a, "abab"));
    EXPECT_FALSE(matches(a, "aba"));
}

TEST(Regex, NonAsciiCharactersAndDot) {
    const auto a = std::make_shared<Automaton>(compile_regex("é.+[ü-]"));
    EXPECT_TRUE(matches(a, "é日本ü"));
    EXPECT_TRUE(matches(a, "éxx-"));
    EXPECT_FALSE(matches(a, "e日本ü"));
    EXPECT_FALSE(matches(a,
                         "é\xff"
                         "-"));  // . is a well-formed character, not any byte
}

TEST(Regex, NegatedClassTakesNonAscii) {
    const auto a = std::make_shared<Automaton>(compile_regex("[^a]\\D"));
    EXPECT_TRUE(matches(a, "日本"));
    EXPECT_FALSE(matches(a, "a本"));
    EXPECT_FALSE(matches(a, "b1"));
}

TEST(Regex, JsonStringSafeLeavesOutQuotesAndBackslashes) {
    RegexOptions options;
    options.json_string_safe = true;
    const auto a = std::make_shared<Automaton>(compile_regex(".*", options));
    EXPECT_TRUE(matches(a, "plain text"));
    EXPECT_FALSE(matches(a, "a\"b"));
    EXPECT_FALSE(matches(a, "a\\b"));
    EXPECT_FALSE(matches(a, "a\tb"));
}

TEST(Regex, UnsupportedFeaturesNameTheOffset) {
    const std::vector<std::pair<std::string, size_t>> cases = {
        {"(a)\\1", 3}, {"a(?=b)", 3}, {"\\bword", 0}, {"a^b", 1},   {"a++", 2},
        {"(a", 2},     {"a)", 1},     {"*a", 0},      {"(a?)*", 4}, {"[z-a]", 4},
        {"a{3,2}", 6}, {"\\q", 0},    {"[é-ü]", 6}};
    for (const auto& [pattern, offset] : cases) {
        try {
            compile_regex(pattern);
            ADD_FAILURE() << "accepted " << pattern;
        } catch (const RegexError& e) {
            EXPECT_EQ(e.offset(), offset) << pattern << ": " << e.what();
        }
    }
}

TEST(Regex, RepeatLimit) {
    EXPECT_NO_THROW(compile_regex("a{1000}"));
    EXPECT_THROW(compile_regex("a{1001}"), RegexError);
}

}  // namespace
}  // namespace ms::grammar
