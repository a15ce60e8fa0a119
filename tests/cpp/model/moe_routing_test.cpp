// The routing policies in isolation: which experts each policy picks and how it weighs them.
#include "model/moe_routing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace {

using ms::model::ExpertChoice;
using ms::model::Router;
using ms::model::RoutingPolicy;

float sigmoid(float x) {
    return 1.0f / (1.0f + std::exp(-x));
}

std::vector<int64_t> experts_of(std::span<const ExpertChoice> chosen) {
    std::vector<int64_t> experts;
    for (const auto& c : chosen) experts.push_back(c.expert);
    return experts;
}

RoutingPolicy softmax_top2(int64_t n_expert, bool normalize) {
    RoutingPolicy p;
    p.n_expert = n_expert;
    p.n_used = 2;
    p.normalize = normalize;
    return p;
}

RoutingPolicy sigmoid_top2(int64_t n_expert) {
    RoutingPolicy p = softmax_top2(n_expert, false);
    p.score = RoutingPolicy::Score::Sigmoid;
    return p;
}

TEST(Routing, SoftmaxTopKWithoutRenormalisationKeepsTheProbabilities) {
    Router router(softmax_top2(4, false));
    const std::vector<float> logits{1.0f, 3.0f, 0.0f, 2.0f};
    const auto chosen = router.choose(logits);
    ASSERT_EQ(experts_of(chosen), (std::vector<int64_t>{1, 3}));
    const float sum = std::exp(1.0f) + std::exp(3.0f) + std::exp(0.0f) + std::exp(2.0f);
    EXPECT_NEAR(chosen[0].weight, std::exp(3.0f) / sum, 1e-6f);
    EXPECT_NEAR(chosen[1].weight, std::exp(2.0f) / sum, 1e-6f);
}

TEST(Routing, RenormalisedWeightsSumToOneInTheirOriginalRatio) {
    Router router(softmax_top2(4, true));
    const std::vector<float> logits{1.0f, 3.0f, 0.0f, 2.0f};
    const auto chosen = router.choose(logits);
    EXPECT_NEAR(chosen[0].weight + chosen[1].weight, 1.0f, 1e-6f);
    EXPECT_NEAR(chosen[0].weight / chosen[1].weight, std::exp(1.0f), 1e-5f);
}

TEST(Routing, ScaleMultipliesTheNormalisedWeights) {
    RoutingPolicy policy = sigmoid_top2(4);
    policy.normalize = true;
    policy.scale = 2.5f;
    Router router(policy);
    const std::vector<float> logits{0.5f, -1.0f, 2.0f, 0.0f};
    const auto chosen = router.choose(logits);
    EXPECT_NEAR(chosen[0].weight + chosen[1].weight, 2.5f, 1e-6f);
    EXPECT_NEAR(chosen[0].weight / chosen[1].weight, sigmoid(2.0f) / sigmoid(0.5f), 1e-5f);
}

TEST(Routing, SelectionBiasChangesTheChoiceButNotTheWeights) {
    Router router(sigmoid_top2(4));
    const std::vector<float> logits{2.0f, 1.0f, 0.0f, -1.0f};
    const std::vector<float> bias{0.0f, 0.0f, 5.0f, 0.0f};
    const auto chosen = router.choose(logits, bias);
    ASSERT_EQ(experts_of(chosen), (std::vector<int64_t>{2, 0}));
    EXPECT_NEAR(chosen[0].weight, sigmoid(0.0f), 1e-6f);  // unbiased score, not sigmoid(0) + 5
    EXPECT_NEAR(chosen[1].weight, sigmoid(2.0f), 1e-6f);
}

TEST(Routing, BiasThatKeepsTheChoiceLeavesWeightsUnchanged) {
    Router router(sigmoid_top2(4));
    const std::vector<float> logits{2.0f, 1.0f, 0.0f, -1.0f};
    const std::vector<ExpertChoice> plain(router.choose(logits).begin(),
                                          router.choose(logits).end());
    const std::vector<float> bias{0.3f, 0.2f, 0.1f, 0.0f};
    const auto biased = router.choose(logits, bias);
    ASSERT_EQ(experts_of(biased), experts_of(plain));
    for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(biased[i].weight, plain[i].weight);
}

// 8 experts in 4 groups of 2, 2 groups used. Group 0 holds the single best expert but a weak
// partner (group strength = sum of its top two), so groups 1 and 2 win and expert 0 is out.
TEST(Routing, GroupLimitedTopKPicksOnlyFromTheStrongestGroups) {
    RoutingPolicy policy = sigmoid_top2(8);
    policy.n_groups = 4;
    policy.n_groups_used = 2;
    Router router(policy);
    const std::vector<float> logits{5.0f, -5.0f, 2.0f, 1.9f, 1.5f, 1.5f, -1.0f, 3.0f};
    // strengths: g0 0.993+0.007=1.0, g1 0.88+0.87=1.75, g2 0.82*2=1.64, g3 0.95+0.27=1.22
    EXPECT_EQ(experts_of(router.choose(logits)), (std::vector<int64_t>{2, 3}));

    policy.n_groups = 1;  // ungrouped, the same logits pick the two best overall
    Router ungrouped(policy);
    EXPECT_EQ(experts_of(ungrouped.choose(logits)), (std::vector<int64_t>{0, 7}));
}

TEST(Routing, GroupsAreRankedOnBiasedScores) {
    RoutingPolicy policy = sigmoid_top2(8);
    policy.n_groups = 4;
    policy.n_groups_used = 1;
    Router router(policy);
    const std::vector<float> logits{1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    std::vector<float> bias(8, 0.0f);
    bias[6] = 1.0f;  // group 3 becomes the strongest only through the bias
    bias[7] = 0.9f;
    EXPECT_EQ(experts_of(router.choose(logits, bias)), (std::vector<int64_t>{6, 7}));
    EXPECT_NEAR(router.choose(logits, bias)[0].weight, sigmoid(0.0f), 1e-6f);
}

TEST(Routing, InconsistentPoliciesAreRejected) {
    RoutingPolicy policy = softmax_top2(6, true);
    policy.n_groups = 4;  // 6 experts do not split into 4 groups
    policy.n_groups_used = 2;
    EXPECT_THROW(Router{policy}, std::runtime_error);
    policy.n_groups = 3;
    policy.n_groups_used = 1;  // one group of 2 experts cannot supply 3
    policy.n_used = 3;
    EXPECT_THROW(Router{policy}, std::runtime_error);
    policy.n_groups = 1;
    policy.n_used = 7;
    EXPECT_THROW(Router{policy}, std::runtime_error);
}

TEST(Routing, WrongNumberOfLogitsIsAnError) {
    Router router(softmax_top2(4, true));
    const std::vector<float> logits{1.0f, 2.0f, 3.0f};
    EXPECT_THROW(router.choose(logits), std::invalid_argument);
}

}  // namespace
