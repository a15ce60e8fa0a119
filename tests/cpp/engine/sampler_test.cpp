#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <map>

namespace {

using ms::engine::Sampler;
using ms::engine::SamplingParams;

const std::vector<float> kLogits{1.0f, 3.0f, 2.5f, -1.0f, 0.0f};

TEST(Sampler, GreedyTakesTheLargestLogit) {
    Sampler s({});
    EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, SameSeedSameDraws) {
    SamplingParams p{.temperature = 1.0f, .seed = 1234};
    Sampler a(p), b(p);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(a.sample(kLogits, {}), b.sample(kLogits, {}));
}

TEST(Sampler, TopKOneIsGreedy) {
    Sampler s({.temperature = 5.0f, .top_k = 1, .seed = 7});
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, TopPKeepsOnlyTheNucleus) {
    // softmax of {3, 2.5} dominates; top_p 0.5 keeps only the first.
    Sampler s({.temperature = 1.0f, .top_p = 0.5f, .seed = 3});
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
    // p(2)/p(1) = exp(-0.5) ~ 0.61 survives min_p 0.5; everything else is below it.
    Sampler s({.temperature = 1.0f, .min_p = 0.5f, .seed = 11});
    std::map<int, int> seen;
    for (int i = 0; i < 200; ++i) ++seen[s.sample(kLogits, {})];
    EXPECT_EQ(seen.size(), 2u);
    EXPECT_TRUE(seen.count(1) && seen.count(2));
}

TEST(Sampler, TemperatureSpreadsDraws) {
    Sampler s({.temperature = 1.0f, .seed = 5});
    std::map<int, int> seen;
    for (int i = 0; i < 500; ++i) ++seen[s.sample(kLogits, {})];
    EXPECT_GE(seen.size(), 4u);
    EXPECT_GT(seen[1], seen[0]);
}

TEST(Sampler, PenaltiesSteerAwayFromRepeats) {
    const std::vector<int32_t> history{1, 1, 1};
    EXPECT_EQ(Sampler({.repetition_penalty = 2.0f}).sample(kLogits, history), 2);
    EXPECT_EQ(Sampler({.presence_penalty = 1.0f}).sample(kLogits, history), 2);
    EXPECT_EQ(Sampler({.frequency_penalty = 0.3f}).sample(kLogits, history), 2);  // 3 - 0.9
    EXPECT_EQ(Sampler({.frequency_penalty = 0.1f}).sample(kLogits, history), 1);  // 3 - 0.3
}

// kLogits' best is token 1 (3.0), then token 2 (2.5).
TEST(Sampler, LogitBiasSteersGreedy) {
    EXPECT_EQ(Sampler({}).sample(kLogits, {}), 1);
    EXPECT_EQ(Sampler({.logit_bias = {{1, -100.0f}}}).sample(kLogits, {}), 2);  // banned
    EXPECT_EQ(Sampler({.logit_bias = {{3, 100.0f}}}).sample(kLogits, {}), 3);   // forced
    EXPECT_EQ(Sampler({.logit_bias = {{2, 0.4f}}}).sample(kLogits, {}), 1);     // 2.9 < 3
    EXPECT_EQ(Sampler({.logit_bias = {{2, 0.6f}}}).sample(kLogits, {}), 2);     // 3.1 > 3
    EXPECT_EQ(Sampler({.logit_bias = {{99, 100.0f}}}).sample(kLogits, {}), 1);  // not a logit
}

TEST(Sampler, LogitBiasSteersDraws) {
    const SamplingParams plain{.temperature = 1.0f, .seed = 9};
    SamplingParams forced = plain, banned = plain;
    forced.logit_bias = {{4, 100.0f}};
    banned.logit_bias = {{1, -100.0f}, {2, -100.0f}};
    Sampler unbiased(plain), always_4(forced), never_1_or_2(banned);
    std::map<int, int> seen, seen_banned;
    for (int i = 0; i < 300; ++i) {
        ++seen[unbiased.sample(kLogits, {})];
        EXPECT_EQ(always_4.sample(kLogits, {}), 4);
        ++seen_banned[never_1_or_2.sample(kLogits, {})];
    }
    EXPECT_GT(seen[1] + seen[2], 150);  // unbiased, these two are most of the draws
    EXPECT_EQ(seen_banned.count(1) + seen_banned.count(2), 0u);
    EXPECT_EQ(seen_banned.size(), 3u);
}

TEST(Sampler, LogitBiasComesBeforePenalties) {
    // Token 1 (3.0) repeated, repetition penalty 2, bias +1.5: biased first (llama.cpp's
    // order) it is (3 + 1.5) / 2 = 2.25 and loses to token 2 (2.5); biased after the penalty
    // it would be 3 / 2 + 1.5 = 3.0 and win.
    const std::vector<int32_t> history{1};
    EXPECT_EQ(
        Sampler({.repetition_penalty = 2.0f, .logit_bias = {{1, 1.5f}}}).sample(kLogits, history),
        2);
}

TEST(Sampler, RejectsOutOfRangeParameters) {
    EXPECT_THROW(Sampler({.temperature = -1.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.top_p = 0.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.min_p = 2.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.presence_penalty = 3.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.logit_bias = {{1, 101.0f}}}), std::invalid_argument);
    EXPECT_THROW(Sampler({.logit_bias = {{-1, 1.0f}}}), std::invalid_argument);
}

}  // namespace
