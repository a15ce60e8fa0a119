#include "server/metrics.h"

#include <gtest/gtest.h>

namespace ms::server {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, GaugesAndCountersFromEngineStats) {
    engine::EngineStats stats;
    stats.running = 2;
    stats.waiting = 3;
    stats.kv_blocks_total = 8;
    stats.kv_blocks_used = 2;
    stats.prefix_queries = 100;
    stats.prefix_hits = 40;
    stats.prompt_tokens = 60;
    stats.generation_tokens = 9;
    stats.preemptions = 1;
    const std::string text = ServerMetrics().render(stats, "smol");
    EXPECT_TRUE(has_line(text, "matrixserve:num_requests_running{model_name=\"smol\"} 2"));
    EXPECT_TRUE(has_line(text, "matrixserve:num_requests_waiting{model_name=\"smol\"} 3"));
    EXPECT_TRUE(has_line(text, "matrixserve:kv_cache_usage_perc{model_name=\"smol\"} 0.25"));
    EXPECT_TRUE(has_line(text, "matrixserve:prefix_cache_queries_total{model_name=\"smol\"} 100"));
    EXPECT_TRUE(has_line(text, "matrixserve:prefix_cache_hits_total{model_name=\"smol\"} 40"));
    EXPECT_TRUE(has_line(text, "matrixserve:prompt_tokens_total{model_name=\"smol\"} 60"));
    EXPECT_TRUE(has_line(text, "matrixserve:generation_tokens_total{model_name=\"smol\"} 9"));
    EXPECT_TRUE(has_line(text, "matrixserve:num_preemptions_total{model_name=\"smol\"} 1"));
    EXPECT_TRUE(has_line(text, "# TYPE matrixserve:kv_cache_usage_perc gauge"));
}

TEST(Metrics, HistogramsAreCumulative) {
    ServerMetrics metrics;
    ChoiceTimings t;
    t.has_first_token = true;
    t.time_to_first_token = 0.03;
    t.inter_token = {0.02, 0.02, 0.3};
    t.end_to_end = 1.2;
    t.finish_reason = "stop";
    metrics.record(t);
    t.finish_reason = "length";
    t.time_to_first_token = 3.0;
    metrics.record(t);
    const std::string text = metrics.render({}, "m");
    EXPECT_TRUE(has_line(
        text, "matrixserve:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"0.04\"} 1"));
    EXPECT_TRUE(has_line(
        text, "matrixserve:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"5\"} 2"));
    EXPECT_TRUE(has_line(
        text, "matrixserve:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"+Inf\"} 2"));
    EXPECT_TRUE(
        has_line(text, "matrixserve:time_to_first_token_seconds_count{model_name=\"m\"} 2"));
    EXPECT_TRUE(
        has_line(text, "matrixserve:time_to_first_token_seconds_sum{model_name=\"m\"} 3.03"));
    EXPECT_TRUE(has_line(
        text, "matrixserve:inter_token_latency_seconds_bucket{model_name=\"m\",le=\"0.025\"} 4"));
    EXPECT_TRUE(
        has_line(text, "matrixserve:inter_token_latency_seconds_count{model_name=\"m\"} 6"));
    EXPECT_TRUE(has_line(
        text, "matrixserve:e2e_request_latency_seconds_bucket{model_name=\"m\",le=\"1.5\"} 2"));
    EXPECT_TRUE(has_line(
        text, "matrixserve:request_success_total{model_name=\"m\",finished_reason=\"stop\"} 1"));
    EXPECT_TRUE(has_line(
        text, "matrixserve:request_success_total{model_name=\"m\",finished_reason=\"length\"} 1"));
    EXPECT_TRUE(has_line(text, "# TYPE matrixserve:time_to_first_token_seconds histogram"));
}

TEST(Metrics, ModelNameIsEscaped) {
    const std::string text = ServerMetrics().render({}, "a\"b");
    EXPECT_NE(text.find("model_name=\"a\\\"b\""), std::string::npos);
}

}  // namespace
}  // namespace ms::server
