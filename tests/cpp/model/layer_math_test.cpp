// The small numeric pieces the dense architectures add: half rounding, llama.cpp's GELU, the
// sliding-window start, per-head RMSNorm.
#include "model/layer_math.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using ms::model::first_visible_position;
using ms::model::gelu_tanh_half_table;
using ms::model::round_to_half;

TEST(RoundToHalf, KeepsHalfValuesAndRoundsTiesToEven) {
    EXPECT_EQ(round_to_half(1.0f), 1.0f);
    EXPECT_EQ(round_to_half(-65504.0f), -65504.0f);
    const float ulp_at_one = std::ldexp(1.0f, -10);
    // Halfway between 1 and 1 + ulp: the even neighbour is 1.
    EXPECT_EQ(round_to_half(1.0f + ulp_at_one / 2), 1.0f);
    // Halfway between 1 + ulp and 1 + 2 ulp: the even neighbour is 1 + 2 ulp.
    EXPECT_EQ(round_to_half(1.0f + 1.5f * ulp_at_one), 1.0f + 2 * ulp_at_one);
    EXPECT_EQ(round_to_half(1.0f + 0.6f * ulp_at_one), 1.0f + ulp_at_one);
}

TEST(RoundToHalf, SubnormalsHaveFixedSpacing) {
    const float smallest = std::ldexp(1.0f, -24);
    EXPECT_EQ(round_to_half(1.5f * smallest), 2 * smallest);  // tie to even
    EXPECT_EQ(round_to_half(0.4f * smallest), 0.0f);
    EXPECT_EQ(round_to_half(-3.2f * smallest), -3 * smallest);
}

float exact_gelu_tanh(float x) {
    return 0.5f * x * (1.0f + std::tanh(0.7978845608f * x * (1.0f + 0.044715f * x * x)));
}

TEST(GeluTanhHalfTable, SaturatesOutsideTenAndRoundsToHalfInside) {
    EXPECT_EQ(gelu_tanh_half_table(-10.0f), 0.0f);
    EXPECT_EQ(gelu_tanh_half_table(-37.0f), 0.0f);
    EXPECT_EQ(gelu_tanh_half_table(10.0f), 10.0f);
    EXPECT_EQ(gelu_tanh_half_table(12.5f), 12.5f);
    EXPECT_EQ(gelu_tanh_half_table(0.0f), 0.0f);
    for (float x = -9.5f; x < 9.5f; x += 0.37f) {
        const float y = gelu_tanh_half_table(x);
        EXPECT_EQ(y, round_to_half(y)) << x;
        EXPECT_NEAR(y, exact_gelu_tanh(x), 2e-3f * std::max(1.0f, std::fabs(x))) << x;
    }
    // The input is rounded first: inputs with the same half value give the same output.
    EXPECT_EQ(gelu_tanh_half_table(1.0f + 1e-4f), gelu_tanh_half_table(1.0f));
}

TEST(SlidingWindow, FirstVisiblePositionEndsTheWindowAtTheQuery) {
    EXPECT_EQ(first_visible_position(5, 0), 0);  // global
    EXPECT_EQ(first_visible_position(0, 3), 0);
    EXPECT_EQ(first_visible_position(2, 3), 0);
    EXPECT_EQ(first_visible_position(3, 3), 1);
    EXPECT_EQ(first_visible_position(100, 3), 98);
    EXPECT_EQ(first_visible_position(7, 1), 7);  // a window of one sees only itself
}

TEST(RmsNormHeads, NormalisesEachHeadOnItsOwn) {
    std::vector<float> row{3, 4, 30, 40};
    const std::vector<float> weight{1, 2};
    ms::model::rms_norm_heads(row.data(), 2, 2, weight.data(), 0.0f);
    const float inv_rms = 1.0f / std::sqrt(12.5f);
    EXPECT_FLOAT_EQ(row[0], 3 * inv_rms);
    EXPECT_FLOAT_EQ(row[1], 8 * inv_rms);
    EXPECT_FLOAT_EQ(row[2], 3 * inv_rms);  // ten times larger, same after its own norm
    EXPECT_FLOAT_EQ(row[3], 8 * inv_rms);
}

}  // namespace
