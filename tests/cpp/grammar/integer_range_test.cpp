// Integer ranges: every integer in a window is accepted exactly when it lies in the range.
#include "grammar/integer_range.h"

#include <gtest/gtest.h>

#include <random>

#include "grammar/matcher.h"

namespace ms::grammar {
namespace {

bool matches(const std::shared_ptr<Automaton>& a, std::string_view text) {
    Matcher m(a);
    return m.accept(text) && m.can_finish();
}

void check(std::optional<int64_t> lo, std::optional<int64_t> hi) {
    GrammarBuilder b;
    const auto a = std::make_shared<Automaton>(std::move(b).build(integer_range(b, lo, hi)));
    for (int64_t v = -1200; v <= 1200; ++v) {
        const bool expected = (!lo || v >= *lo) && (!hi || v <= *hi);
        ASSERT_EQ(matches(a, std::to_string(v)), expected)
            << v << " in [" << (lo ? std::to_string(*lo) : "-inf") << ", "
            << (hi ? std::to_string(*hi) : "inf") << "]";
    }
    EXPECT_FALSE(matches(a, "007"));
    EXPECT_FALSE(matches(a, "-0"));
    EXPECT_FALSE(matches(a, ""));
}

TEST(IntegerRange, FixedCases) {
    check(0, 0);
    check(0, 9);
    check(10, 99);
    check(-5, 5);
    check(-1000, -10);
    check(123, 456);
    check(std::nullopt, 42);
    check(-42, std::nullopt);
    check(7, std::nullopt);
    check(std::nullopt, -7);
    check(std::nullopt, std::nullopt);
}

TEST(IntegerRange, RandomBounds) {
    std::mt19937 rng(3);
    for (int i = 0; i < 40; ++i) {
        int64_t lo = int64_t(rng() % 2400) - 1200, hi = int64_t(rng() % 2400) - 1200;
        if (lo > hi) std::swap(lo, hi);
        check(lo, hi);
    }
}

TEST(IntegerRange, LargeBoundsAreClamped) {
    GrammarBuilder b;
    const auto a =
        std::make_shared<Automaton>(std::move(b).build(integer_range(b, INT64_MIN, INT64_MAX)));
    EXPECT_TRUE(matches(a, "999999999999999999"));
    EXPECT_FALSE(matches(a, "1000000000000000000"));
    EXPECT_TRUE(matches(a, "-999999999999999999"));
}

}  // namespace
}  // namespace ms::grammar
