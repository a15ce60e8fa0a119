// Token masks over SmolLM2's real 49,152-token vocabulary: equal to trying every token on a
// copy of the matcher, and random walks through the masks end in documents the schema
// accepts. With MS_GRAMMAR_SAMPLES=FILE the walks are written there as JSON lines
// ({"schema": ..., "output": ...}) for tests/python/test_grammar_jsonschema.py to validate.
#include "grammar/token_mask.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "gguf/gguf.h"
#include "grammar/json_schema.h"
#include "grammar/regex.h"
#include "tokenizer/vocab.h"

namespace ms::grammar {
namespace {

const std::shared_ptr<const VocabIndex>& smollm2() {
    static const auto index = [] {
        const auto file = gguf::File::open(std::string(MS_SOURCE_DIR) +
                                           "/models/SmolLM2-135M-Instruct.Q4_1.gguf");
        return VocabIndex::from_vocab(*tok::Vocab::from_gguf(file));
    }();
    return index;
}

// Schemas for the walks, from flat to nested; used by the benchmark too.
const std::vector<std::string> kSchemas = {
    R"({"type":"object","properties":{"name":{"type":"string","maxLength":20},
        "age":{"type":"integer","minimum":0,"maximum":150},
        "email":{"type":"string","pattern":"^[a-z]{1,8}@[a-z]{1,8}\\.(com|org)$"}},
        "required":["name","age"],"additionalProperties":false})",
    R"({"type":"object","properties":{"items":{"type":"array","minItems":1,"maxItems":4,
        "items":{"type":"object","properties":{"id":{"type":"integer"},
        "tag":{"enum":["a","b","c"]},"score":{"type":"number","minimum":0,"maximum":1}},
        "required":["id","tag"]}}},"required":["items"]})",
    R"({"$defs":{"tree":{"type":"object","properties":{"label":{"type":"string","maxLength":8},
        "children":{"type":"array","maxItems":2,"items":{"$ref":"#/$defs/tree"}}},
        "required":["label"]}},"$ref":"#/$defs/tree"})",
    R"({"anyOf":[{"type":"boolean"},{"type":"object","properties":{"ok":{"const":true},
        "note":{"type":["string","null"],"minLength":1}},"required":["ok"]}]})",
};

// The reference: a token is allowed when its bytes are accepted by a copy of the matcher (an
// end-of-generation token: when the matcher can finish).
std::vector<uint64_t> brute_force_mask(const VocabIndex& v, const Matcher& m) {
    std::vector<uint64_t> mask(v.mask_words(), 0);
    for (int32_t t = 0; t < v.n_tokens(); ++t) {
        Matcher copy = m;
        const bool ok = v.is_end(t) ? m.can_finish()
                                    : !v.token_bytes(t).empty() && copy.accept(v.token_bytes(t));
        if (ok) mask[size_t(t) >> 6] |= 1ull << (t & 63);
    }
    return mask;
}

std::vector<int32_t> allowed(std::span<const uint64_t> mask, int32_t n) {
    std::vector<int32_t> out;
    for (int32_t t = 0; t < n; ++t)
        if (mask_allows(mask, t)) out.push_back(t);
    return out;
}

// Walks random allowed tokens until an end token is drawn or the matcher is complete. End
// tokens are drawn with a rising probability so walks finish. Returns the text written.
std::string random_walk(
    TokenMasker& masker, Matcher m, std::mt19937& rng,
    const std::function<void(const Matcher&, std::span<const uint64_t>)>& check_mask = {}) {
    const VocabIndex& v = masker.vocab();
    std::vector<uint64_t> mask(v.mask_words());
    std::string text;
    for (int step = 0; step < 400; ++step) {
        masker.fill_mask(m, mask);
        if (check_mask) check_mask(m, mask);
        const auto options = allowed(mask, v.n_tokens());
        EXPECT_FALSE(options.empty()) << "no token allowed after '" << text << "'";
        if (options.empty()) break;
        std::vector<int32_t> ends, others;
        for (int32_t t : options) (v.is_end(t) ? ends : others).push_back(t);
        if (!ends.empty() && (others.empty() || rng() % 100 < 30u)) return text;
        // Prefer short tokens now and then, so structure (not only long strings) gets drawn,
        // and after a while tokens that close strings, objects and arrays, so walks end.
        int32_t t = others[rng() % others.size()];
        std::vector<int32_t> closing;
        if (step > 30)
            for (int32_t c : others)
                if (v.token_bytes(c).find_first_of("\"]}") != std::string::npos)
                    closing.push_back(c);
        if (!closing.empty() && rng() % 2) {
            t = closing[rng() % closing.size()];
        } else if (rng() % 2) {
            for (int k = 0; k < 8; ++k) {
                const int32_t c = others[rng() % others.size()];
                if (v.token_bytes(c).size() < v.token_bytes(t).size()) t = c;
            }
        }
        EXPECT_TRUE(masker.accept_token(m, t));
        text += v.token_bytes(t);
        if (m.is_complete()) return text;
    }
    ADD_FAILURE() << "walk did not finish: " << text;
    return text;
}

TEST(VocabIndex, TrieHoldsEveryTokenWithBytes) {
    const auto& v = *smollm2();
    EXPECT_EQ(v.n_tokens(), 49152);
    EXPECT_FALSE(v.end_tokens().empty());
    EXPECT_GT(v.n_trie_nodes(), 49152u / 2);
}

TEST(TokenMask, SmallVocabularyByHand) {
    auto v = std::make_shared<const VocabIndex>(
        std::vector<std::string>{"a", "ab", "b", "", "abc", "c"}, std::vector<int32_t>{3});
    auto automaton = std::make_shared<Automaton>(compile_regex("ab?c?"));
    TokenMasker masker(v, automaton);
    Matcher m(automaton);
    std::vector<uint64_t> mask(1);
    masker.fill_mask(m, mask);
    EXPECT_EQ(allowed(mask, 6), (std::vector<int32_t>{0, 1, 4}));
    ASSERT_TRUE(masker.accept_token(m, 0));
    masker.fill_mask(m, mask);
    EXPECT_EQ(allowed(mask, 6), (std::vector<int32_t>{2, 3, 5}));  // the end token 3: can finish
    EXPECT_FALSE(masker.accept_token(m, 0));
    EXPECT_TRUE(masker.accept_token(m, 3));
}

TEST(TokenMask, EqualsBruteForceOnWalkedStates) {
    const auto& v = smollm2();
    std::mt19937 rng(11);
    int checked = 0;
    for (const auto& schema : kSchemas) {
        auto automaton = std::make_shared<Automaton>(compile_json_schema(schema));
        TokenMasker masker(v, automaton);
        for (int walk = 0; walk < 2; ++walk) {
            random_walk(masker, Matcher(automaton), rng,
                        [&](const Matcher& m, std::span<const uint64_t> mask) {
                            if (rng() % 3 != 0) return;  // the reference is slow: a sample
                            const auto expected = brute_force_mask(*v, m);
                            ASSERT_TRUE(std::equal(mask.begin(), mask.end(), expected.begin()));
                            ++checked;
                        });
        }
    }
    RecordProperty("states_checked", checked);
    EXPECT_GT(checked, 20);
}

TEST(TokenMask, RandomWalksProduceValidJson) {
    const auto& v = smollm2();
    std::mt19937 rng(5);
    const char* samples_path = std::getenv("MS_GRAMMAR_SAMPLES");
    std::ofstream samples;
    if (samples_path) samples.open(samples_path);
    for (const auto& schema : kSchemas) {
        auto automaton = std::make_shared<Automaton>(compile_json_schema(schema));
        TokenMasker masker(v, automaton);
        for (int walk = 0; walk < 25; ++walk) {
            const std::string text = random_walk(masker, Matcher(automaton), rng);
            Matcher check(automaton);
            EXPECT_TRUE(check.accept(text) && check.can_finish()) << text;
            EXPECT_TRUE(nlohmann::json::accept(text)) << text;
            if (samples_path)
                samples << nlohmann::json{{"schema", nlohmann::json::parse(schema)},
                                          {"output", text}}
                               .dump()
                        << "\n";
        }
    }
}

TEST(TokenMask, AcceptTokenRefusesWhatTheMaskRefuses) {
    const auto& v = smollm2();
    auto automaton = std::make_shared<Automaton>(compile_json_schema(R"({"type":"integer"})"));
    TokenMasker masker(v, automaton);
    Matcher m(automaton);
    std::vector<uint64_t> mask(v->mask_words());
    masker.fill_mask(m, mask);
    for (int32_t t = 0; t < v->n_tokens(); t += 97) {
        Matcher copy = m;
        EXPECT_EQ(masker.accept_token(copy, t), mask_allows(mask, t)) << t;
    }
    for (int32_t end : v->end_tokens()) EXPECT_FALSE(mask_allows(mask, end));  // "" is no integer
}

}  // namespace
}  // namespace ms::grammar
