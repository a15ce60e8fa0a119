#include "loadgen/arrivals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ms::loadgen {
namespace {

TEST(PoissonArrivals, InfiniteRateSendsEverythingAtOnce) {
    for (const double rate : {std::numeric_limits<double>::infinity(), 0.0}) {
        const auto times = poisson_arrivals(5, rate, 1);
        ASSERT_EQ(times.size(), 5u);
        for (const double t : times) EXPECT_EQ(t, 0.0);
    }
}

TEST(PoissonArrivals, GapsAreExponentialWithTheRequestedRate) {
    constexpr double rate = 4.0;
    constexpr size_t count = 20001;
    const auto times = poisson_arrivals(count, rate, 7);
    double sum = 0, sum_sq = 0;
    size_t longer_than_mean = 0;
    for (size_t i = 1; i < count; ++i) {
        const double gap = times[i] - times[i - 1];
        ASSERT_GE(gap, 0.0);
        sum += gap;
        sum_sq += gap * gap;
        longer_than_mean += gap > 1.0 / rate;
    }
    const double n = count - 1;
    const double mean = sum / n;
    const double variance = sum_sq / n - mean * mean;
    EXPECT_NEAR(mean, 1.0 / rate, 0.01);                      // exponential: mean 1/rate,
    EXPECT_NEAR(std::sqrt(variance), 1.0 / rate, 0.01);       // standard deviation = mean,
    EXPECT_NEAR(longer_than_mean / n, std::exp(-1.0), 0.01);  // P(gap > mean) = 1/e
}

TEST(PoissonArrivals, SameSeedSameSchedule) {
    EXPECT_EQ(poisson_arrivals(50, 10, 3), poisson_arrivals(50, 10, 3));
    EXPECT_NE(poisson_arrivals(50, 10, 3), poisson_arrivals(50, 10, 4));
    EXPECT_EQ(poisson_arrivals(50, 10, 3).front(), 0.0);
}

}  // namespace
}  // namespace ms::loadgen
