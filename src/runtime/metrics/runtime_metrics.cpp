#include "runtime/metrics/runtime_metrics.h"

#include <fmt/format.h>

#include <map>
#include <type_traits>
#include <utility>

namespace ms::runtime {
namespace {

void header(std::string& out, const char* name, const char* help) {
    out +=
        fmt::format("# HELP matrixserve:{} {}\n# TYPE matrixserve:{} counter\n", name, help, name);
}

// `labels` are the caller's (may be empty), `own` this sample's. Counts print as integers,
// seconds with nanosecond digits.
template <typename Value>
void sample(std::string& out, const char* name, const std::string& labels, const std::string& own,
            Value value) {
    const std::string set = labels.empty() || own.empty() ? labels + own : labels + "," + own;
    out += fmt::format("matrixserve:{}{} ", name, set.empty() ? "" : "{" + set + "}");
    if constexpr (std::is_floating_point_v<Value>)
        out += fmt::format("{:.9f}\n", value);
    else
        out += fmt::format("{}\n", value);
}

double seconds(uint64_t nanoseconds) {
    return double(nanoseconds) * 1e-9;
}

}  // namespace

void MetricsRegistry::add(Source source) {
    std::lock_guard lock(mutex_);
    sources_.push_back(std::move(source));
}

std::string MetricsRegistry::render(const std::string& labels) const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const Source& source : sources_) source(out, labels);
    return out;
}

std::string unit_kind(const std::string& unit_name) {
    if (!unit_name.starts_with("blk.")) return unit_name;
    const size_t dot = unit_name.find('.', 4);
    return dot == std::string::npos ? unit_name : unit_name.substr(dot + 1);
}

MetricsRegistry::Source unit_time_source(const executor::ChainExecutor& chain,
                                         std::vector<std::string> location_of) {
    std::vector<std::string> kind_of;
    for (const auto& unit : chain.model().units()) kind_of.push_back(unit_kind(unit->name()));
    return [&chain, kind_of = std::move(kind_of), location_of = std::move(location_of)](
               std::string& out, const std::string& labels) {
        std::map<std::pair<std::string, std::string>, executor::UnitTime> totals;
        const auto times = chain.unit_times();
        for (size_t i = 0; i < times.size() && i < kind_of.size(); ++i) {
            executor::UnitTime& total = totals[{kind_of[i], location_of[i]}];
            total.calls += times[i].calls;
            total.nanoseconds += times[i].nanoseconds;
        }
        const auto each = [&](const char* name, const char* help, auto value) {
            header(out, name, help);
            for (const auto& [key, total] : totals)
                sample(out, name, labels,
                       fmt::format("unit=\"{}\",location=\"{}\"", key.first, key.second),
                       value(total));
        };
        each("unit_seconds_total",
             "Wall time in the model's units by kind and location (local: the front end; a "
             "worker: the round trip to it).",
             [](const executor::UnitTime& t) { return seconds(t.nanoseconds); });
        each("unit_calls_total", "Calls of the model's units by kind and location.",
             [](const executor::UnitTime& t) { return t.calls; });
    };
}

MetricsRegistry::Source pipeline_source(const executor::PipelineCounters& counters) {
    return [&counters](std::string& out, const std::string& labels) {
        const auto one = [&](const char* name, const char* help, auto value) {
            header(out, name, help);
            sample(out, name, labels, "", value);
        };
        const auto load = [](const std::atomic<uint64_t>& v) {
            return v.load(std::memory_order_relaxed);
        };
        one("pipeline_steps_total", "Steps run as several micro-batches.", load(counters.steps));
        one("pipeline_micro_batches_total", "Micro-batches of those steps.",
            load(counters.micro_batches));
        one("pipeline_step_seconds_total", "Wall time of those steps.",
            seconds(load(counters.step_nanoseconds)));
        one("pipeline_bubble_seconds_total",
            "Time of those steps the front end waited for a worker with no other micro-batch to "
            "run.",
            seconds(load(counters.bubble_nanoseconds)));
    };
}

MetricsRegistry::Source transport_source(const transport::Transport& transport,
                                         const WorkerGroup& group) {
    std::vector<std::pair<int, std::string>> peers;
    for (size_t i = 0; i < group.plans.size(); ++i)
        if (i != group.front_end) peers.emplace_back(int(i), group.plans[i].name);
    return [&transport, peers = std::move(peers)](std::string& out, const std::string& labels) {
        const auto each = [&](const char* name, const char* help, auto sent, auto received) {
            header(out, name, help);
            for (const auto& [rank, peer] : peers) {
                const transport::TransportStats s = transport.stats(rank);
                const std::string to = fmt::format("peer=\"{}\",direction=", peer);
                sample(out, name, labels, to + "\"sent\"", sent(s));
                sample(out, name, labels, to + "\"received\"", received(s));
            }
        };
        using Stats = transport::TransportStats;
        each(
            "transport_bytes_total", "Bytes the front end sent to and received from each worker.",
            [](const Stats& s) { return s.bytes_sent; },
            [](const Stats& s) { return s.bytes_received; });
        each(
            "transport_messages_total", "Messages between the front end and each worker.",
            [](const Stats& s) { return s.messages_sent; },
            [](const Stats& s) { return s.messages_received; });
        each(
            "transport_seconds_total",
            "Wall time the front end spent sending to and receiving from each worker (receiving "
            "includes waiting for the reply).",
            [](const Stats& s) { return seconds(s.send_nanoseconds); },
            [](const Stats& s) { return seconds(s.recv_nanoseconds); });
    };
}

}  // namespace ms::runtime
