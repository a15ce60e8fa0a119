#include "loadgen/stats.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace ms::loadgen {
namespace {

RequestRecord finished(double ttft, double latency, int32_t output_tokens) {
    RequestRecord r;
    r.success = true;
    r.ttft = ttft;
    r.latency = latency;
    r.output_tokens = output_tokens;
    r.prompt_tokens = 10;
    return r;
}

TEST(Percentile, InterpolatesBetweenRanksLikeNumpy) {
    const std::vector<double> values{4, 1, 3, 2};  // unsorted on purpose
    EXPECT_DOUBLE_EQ(percentile(values, 0), 1.0);
    EXPECT_DOUBLE_EQ(percentile(values, 50), 2.5);
    EXPECT_DOUBLE_EQ(percentile(values, 90), 3.7);
    EXPECT_DOUBLE_EQ(percentile(values, 99), 3.97);
    EXPECT_DOUBLE_EQ(percentile(values, 100), 4.0);
}

TEST(Percentile, EmptyAndSingleValue) {
    EXPECT_EQ(percentile({}, 50), 0.0);
    EXPECT_EQ(percentile({7}, 99), 7.0);
}

TEST(Describe, MeanAndPercentiles) {
    std::vector<double> values;
    for (int i = 1; i <= 100; ++i) values.push_back(i);
    const auto d = describe(values);
    EXPECT_DOUBLE_EQ(d.mean, 50.5);
    EXPECT_DOUBLE_EQ(d.p50, 50.5);
    EXPECT_DOUBLE_EQ(d.p90, 90.1);
    EXPECT_DOUBLE_EQ(d.p99, 99.01);
}

TEST(RequestRecord, TpotExcludesTheFirstToken) {
    EXPECT_DOUBLE_EQ(finished(0.1, 1.1, 11).tpot(), 0.1);
    EXPECT_EQ(finished(0.1, 0.1, 1).tpot(), 0.0);
}

TEST(Slo, ParsesKeysInMilliseconds) {
    const auto slo = parse_slo("ttft=500,tpot=50,e2e=2000");
    EXPECT_EQ(slo.ttft_ms, 500);
    EXPECT_EQ(slo.tpot_ms, 50);
    EXPECT_EQ(slo.e2e_ms, 2000);
    EXPECT_FALSE(parse_slo("").any());
}

TEST(Slo, RejectsUnknownKeysAndBadValues) {
    EXPECT_THROW(parse_slo("ttfb=5"), std::invalid_argument);
    EXPECT_THROW(parse_slo("ttft"), std::invalid_argument);
    EXPECT_THROW(parse_slo("ttft=fast"), std::invalid_argument);
    EXPECT_THROW(parse_slo("ttft=-1"), std::invalid_argument);
    EXPECT_THROW(parse_slo("ttft=5ms"), std::invalid_argument);
}

TEST(Slo, ARequestIsGoodOnlyWhenItMeetsEveryTarget) {
    const auto slo = parse_slo("ttft=500,tpot=50");
    EXPECT_TRUE(meets_slo(finished(0.5, 1.0, 11), slo));   // tpot 50 ms: on the limit
    EXPECT_FALSE(meets_slo(finished(0.6, 1.0, 11), slo));  // ttft too long
    EXPECT_FALSE(meets_slo(finished(0.1, 1.2, 11), slo));  // tpot 110 ms
    auto failed = finished(0.1, 0.2, 11);
    failed.success = false;
    EXPECT_FALSE(meets_slo(failed, slo));
}

TEST(Summarize, ThroughputAndGoodputOverSuccessfulRequests) {
    std::vector<RequestRecord> records{finished(0.1, 1.0, 10), finished(0.9, 2.0, 10),
                                       finished(0.2, 1.0, 20)};
    records.push_back({});  // a failure: counted, not measured
    records.back().error = "HTTP 500";
    const auto s = summarize(records, 2.0, parse_slo("ttft=500"));
    EXPECT_EQ(s.completed, 3u);
    EXPECT_EQ(s.failed, 1u);
    EXPECT_EQ(s.output_tokens, 40);
    EXPECT_EQ(s.input_tokens, 30);
    EXPECT_DOUBLE_EQ(s.request_throughput, 1.5);
    EXPECT_DOUBLE_EQ(s.output_throughput, 20.0);
    EXPECT_DOUBLE_EQ(s.total_throughput, 35.0);
    EXPECT_EQ(s.good_requests, 2u);
    ASSERT_TRUE(s.goodput.has_value());
    EXPECT_DOUBLE_EQ(*s.goodput, 1.0);
    EXPECT_NEAR(s.ttft_ms.p50, 200.0, 1e-9);
}

TEST(Summarize, NoGoodputWithoutSlo) {
    EXPECT_FALSE(summarize({finished(0.1, 1.0, 10)}, 1.0, {}).goodput.has_value());
}

}  // namespace
}  // namespace ms::loadgen
