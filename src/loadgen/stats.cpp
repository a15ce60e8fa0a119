#include "loadgen/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ms::loadgen {
namespace {

std::vector<double> in_ms(std::vector<double> seconds) {
    for (auto& value : seconds) value *= 1000.0;
    return seconds;
}

void set_slo(SloTargets& slo, std::string_view key, double value) {
    if (key == "ttft")
        slo.ttft_ms = value;
    else if (key == "tpot")
        slo.tpot_ms = value;
    else if (key == "e2e" || key == "e2el")
        slo.e2e_ms = value;
    else
        throw std::invalid_argument("unknown SLO '" + std::string(key) +
                                    "' (expected ttft, tpot or e2e)");
}

}  // namespace

double RequestRecord::tpot() const {
    return output_tokens > 1 ? (latency - ttft) / (output_tokens - 1) : 0.0;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * double(values.size() - 1);
    const auto below = size_t(std::floor(rank));
    const auto above = std::min(below + 1, values.size() - 1);
    return values[below] + (rank - double(below)) * (values[above] - values[below]);
}

Distribution describe(const std::vector<double>& values) {
    if (values.empty()) return {};
    const double sum = std::accumulate(values.begin(), values.end(), 0.0);
    return {sum / double(values.size()), percentile(values, 50), percentile(values, 90),
            percentile(values, 99)};
}

SloTargets parse_slo(std::string_view text) {
    SloTargets slo;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const auto equals = item.find('=');
        if (equals == std::string_view::npos)
            throw std::invalid_argument("SLO '" + std::string(item) + "' is not KEY=MILLISECONDS");
        const std::string value(item.substr(equals + 1));
        size_t used = 0;
        double ms = -1;
        try {
            ms = std::stod(value, &used);
        } catch (const std::exception&) {
        }
        if (used != value.size() || !(ms > 0))
            throw std::invalid_argument("SLO value '" + value + "' is not a positive number");
        set_slo(slo, item.substr(0, equals), ms);
    }
    return slo;
}

bool meets_slo(const RequestRecord& r, const SloTargets& slo) {
    if (!r.success) return false;
    if (slo.ttft_ms && r.ttft * 1000.0 > *slo.ttft_ms) return false;
    if (slo.tpot_ms && r.tpot() * 1000.0 > *slo.tpot_ms) return false;
    return !(slo.e2e_ms && r.latency * 1000.0 > *slo.e2e_ms);
}

Summary summarize(const std::vector<RequestRecord>& records, double duration,
                  const SloTargets& slo) {
    Summary s;
    s.duration = duration;
    std::vector<double> ttft, tpot, itl, e2e;
    for (const auto& r : records) {
        if (!r.success) {
            ++s.failed;
            continue;
        }
        ++s.completed;
        s.input_tokens += r.prompt_tokens;
        s.output_tokens += r.output_tokens;
        s.good_requests += meets_slo(r, slo);
        ttft.push_back(r.ttft);
        if (r.output_tokens > 1) tpot.push_back(r.tpot());
        itl.insert(itl.end(), r.itl.begin(), r.itl.end());
        e2e.push_back(r.latency);
    }
    if (duration > 0) {
        s.request_throughput = double(s.completed) / duration;
        s.output_throughput = double(s.output_tokens) / duration;
        s.total_throughput = double(s.input_tokens + s.output_tokens) / duration;
        if (slo.any()) s.goodput = double(s.good_requests) / duration;
    }
    s.ttft_ms = describe(in_ms(ttft));
    s.tpot_ms = describe(in_ms(tpot));
    s.itl_ms = describe(in_ms(itl));
    s.e2e_ms = describe(in_ms(e2e));
    return s;
}

}  // namespace ms::loadgen
