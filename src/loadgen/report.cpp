#include "loadgen/report.h"

#include <fmt/format.h>

namespace ms::loadgen {
namespace {

using nlohmann::json;

constexpr int table_width = 62;

void line(std::string& out, std::string_view label, const std::string& value) {
    out += fmt::format("{:<40}{:>22}\n", label, value);
}

void latency_row(std::string& out, std::string_view name, const Distribution& d) {
    out += fmt::format("{:<22}{:>10.2f}{:>10.2f}{:>10.2f}{:>10.2f}\n", name, d.mean, d.p50, d.p90,
                       d.p99);
}

json distribution_json(const Distribution& d) {
    return {{"mean", d.mean}, {"p50", d.p50}, {"p90", d.p90}, {"p99", d.p99}};
}

std::string slo_text(const SloTargets& slo) {
    std::string text;
    auto add = [&](const char* key, const std::optional<double>& ms) {
        if (ms) text += fmt::format("{}{}<={}ms", text.empty() ? "" : " ", key, *ms);
    };
    add("ttft", slo.ttft_ms);
    add("tpot", slo.tpot_ms);
    add("e2e", slo.e2e_ms);
    return text;
}

}  // namespace

std::string format_summary(const Summary& s, const SloTargets& slo) {
    std::string out = fmt::format("{:=^{}}\n", " Serving Benchmark Result ", table_width);
    line(out, "Successful requests:", fmt::format("{}", s.completed));
    line(out, "Failed requests:", fmt::format("{}", s.failed));
    line(out, "Benchmark duration (s):", fmt::format("{:.2f}", s.duration));
    line(out, "Total input tokens:", fmt::format("{}", s.input_tokens));
    line(out, "Total generated tokens:", fmt::format("{}", s.output_tokens));
    line(out, "Request throughput (req/s):", fmt::format("{:.2f}", s.request_throughput));
    line(out, "Output token throughput (tok/s):", fmt::format("{:.2f}", s.output_throughput));
    line(out, "Total token throughput (tok/s):", fmt::format("{:.2f}", s.total_throughput));
    if (s.goodput) {
        line(out, "Good requests (" + slo_text(slo) + "):", fmt::format("{}", s.good_requests));
        line(out, "Request goodput (req/s):", fmt::format("{:.2f}", *s.goodput));
    }
    out += fmt::format("{:-^{}}\n", " Latency (ms) ", table_width);
    out += fmt::format("{:<22}{:>10}{:>10}{:>10}{:>10}\n", "", "mean", "p50", "p90", "p99");
    latency_row(out, "TTFT", s.ttft_ms);
    latency_row(out, "TPOT (excl. 1st)", s.tpot_ms);
    latency_row(out, "ITL", s.itl_ms);
    latency_row(out, "E2E latency", s.e2e_ms);
    out += std::string(table_width, '=') + "\n";
    return out;
}

json summary_json(const Summary& s, const SloTargets& slo) {
    json out = {{"completed", s.completed},
                {"failed", s.failed},
                {"duration_s", s.duration},
                {"total_input_tokens", s.input_tokens},
                {"total_output_tokens", s.output_tokens},
                {"request_throughput", s.request_throughput},
                {"output_throughput", s.output_throughput},
                {"total_token_throughput", s.total_throughput},
                {"ttft_ms", distribution_json(s.ttft_ms)},
                {"tpot_ms", distribution_json(s.tpot_ms)},
                {"itl_ms", distribution_json(s.itl_ms)},
                {"e2e_ms", distribution_json(s.e2e_ms)}};
    if (s.goodput) {
        out["good_requests"] = s.good_requests;
        out["goodput"] = *s.goodput;
        out["slo_ms"] = json::object();
        if (slo.ttft_ms) out["slo_ms"]["ttft"] = *slo.ttft_ms;
        if (slo.tpot_ms) out["slo_ms"]["tpot"] = *slo.tpot_ms;
        if (slo.e2e_ms) out["slo_ms"]["e2e"] = *slo.e2e_ms;
    }
    return out;
}

json records_json(const std::vector<RequestRecord>& records) {
    json out = json::array();
    for (const auto& r : records) {
        json record = {{"success", r.success},
                       {"start_s", r.start},
                       {"ttft_s", r.ttft},
                       {"tpot_s", r.tpot()},
                       {"e2e_s", r.latency},
                       {"prompt_tokens", r.prompt_tokens},
                       {"output_tokens", r.output_tokens},
                       {"tokens_from_usage", r.tokens_from_usage},
                       {"itl_s", r.itl}};
        if (!r.success) record["error"] = r.error;
        out.push_back(std::move(record));
    }
    return out;
}

}  // namespace ms::loadgen
