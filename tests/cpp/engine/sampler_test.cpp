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

TEST(Sampler, RejectsOutOfRangeParameters) {
    EXPECT_THROW(Sampler({.temperature = -1.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.top_p = 0.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.min_p = 2.0f}), std::invalid_argument);
    EXPECT_THROW(Sampler({.presence_penalty = 3.0f}), std::invalid_argument);
}

}  // namespace
