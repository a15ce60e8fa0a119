#include "bench_decode.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "kernels/thread_pool.h"
#include "model/compute_turn.h"
#include "model/micro_batch.h"
#include "runtime/metrics/runtime_metrics.h"

namespace ms::app {
namespace {

// Everything the per-step figures are differences of.
struct Counters {
    std::vector<model::UnitTime> units;
    transport::TransportStats transport;
    uint64_t bubble_nanoseconds = 0;
};

Counters read_counters(const model::Model& model, const runtime::SplitRuntime* split) {
    return {model.unit_times(), split ? split->transport_stats() : transport::TransportStats{},
            model.pipeline_counters().bubble_nanoseconds.load()};
}

StepCosts per_step(const model::Model& model, const runtime::SplitRuntime* split,
                   const Counters& before, const Counters& after, double steps) {
    StepCosts costs;
    for (size_t i = 0; i < after.units.size(); ++i)
        costs.unit_ms[runtime::unit_kind(model.units()[i]->name())] +=
            double(after.units[i].nanoseconds - before.units[i].nanoseconds) / 1e6 / steps;
    if (!split) return costs;
    const auto& a = after.transport;
    const auto& b = before.transport;
    costs.transport_ms =
        double(a.send_nanoseconds + a.recv_nanoseconds - b.send_nanoseconds - b.recv_nanoseconds) /
        1e6 / steps;
    costs.send_ms = double(a.send_nanoseconds - b.send_nanoseconds) / 1e6 / steps;
    costs.bubble_ms = double(after.bubble_nanoseconds - before.bubble_nanoseconds) / 1e6 / steps;
    costs.transport_mb =
        double(a.bytes_sent + a.bytes_received - b.bytes_sent - b.bytes_received) / 1e6 / steps;
    costs.transport_messages =
        double(a.messages_sent + a.messages_received - b.messages_sent - b.messages_received) /
        steps;
    return costs;
}

constexpr int32_t kBlockSize = 16;

int32_t blocks_per_sequence(const DecodeBenchOptions& o) {
    return (o.prompt_tokens + o.steps + kBlockSize - 1) / kBlockSize;
}

// The sequences of one DP group (all of them with one group), each with KV blocks of its own,
// prefilled with random prompts. Its steps hold the model's compute turn, as an engine's do.
class Sequences {
public:
    Sequences(model::Model& model, const DecodeBenchOptions& o, int dp_group)
        : model_(model), pool_(o.threads), options_(o), dp_group_(dp_group), rng_(42 + dp_group) {
        const int groups = model.dp_groups();
        const int32_t per_sequence = blocks_per_sequence(o);
        // Sequence s of the bench goes to group s % groups; blocks stay numbered by s.
        for (int32_t s = dp_group; s < o.sequences; s += groups) {
            tables_.emplace_back(size_t(per_sequence));
            for (int32_t b = 0; b < per_sequence; ++b)
                tables_.back()[size_t(b)] = s * per_sequence + b;
        }
        for (int32_t s = 0; s < int32_t(tables_.size()); ++s) prefill(s);
    }

    // One step per call: every sequence's token at the given position, each wanting logits.
    void step(int32_t position) {
        model::Batch batch = empty_batch();
        for (int32_t s = 0; s < int32_t(tables_.size()); ++s)
            batch.add(random_token(), position, s, true);
        forward(batch);
    }

private:
    model::Batch empty_batch() const {
        model::Batch batch;
        batch.block_size = kBlockSize;
        for (const auto& table : tables_) batch.block_tables.emplace_back(table);
        return batch;
    }

    void prefill(int32_t s) {
        model::Batch batch = empty_batch();
        for (int32_t p = 0; p < options_.prompt_tokens; ++p)
            batch.add(random_token(), p, s, p + 1 == options_.prompt_tokens);
        forward(batch);
    }

    void forward(const model::Batch& batch) {
        const model::ComputeTurn::Held turn(model_.compute_turn());
        model_.forward(batch, &pool_, logits_, dp_group_);
    }

    int32_t random_token() { return int32_t(rng_() % uint64_t(model_.hparams().n_vocab)); }

    model::Model& model_;
    ThreadPool pool_;
    DecodeBenchOptions options_;
    int dp_group_;
    std::mt19937 rng_;
    std::vector<std::vector<int32_t>> tables_;
    model::Activations logits_;
};

// Every group's sequences through `steps` decode steps, the groups on threads of their own;
// returns the wall time in seconds.
double run_steps(std::vector<std::unique_ptr<Sequences>>& groups, const DecodeBenchOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    const auto steps = [&](Sequences& group) {
        for (int32_t i = 0; i < o.steps; ++i) group.step(o.prompt_tokens + i);
    };
    if (groups.size() == 1) {
        steps(*groups.front());
    } else {
        std::vector<std::thread> threads;
        for (auto& group : groups) threads.emplace_back(steps, std::ref(*group));
        for (auto& thread : threads) thread.join();
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double BenchResult::median() const {
    auto v = tokens_per_s;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double BenchResult::stdev() const {
    double mean = 0, sq = 0;
    for (double x : tokens_per_s) mean += x / double(tokens_per_s.size());
    for (double x : tokens_per_s) sq += (x - mean) * (x - mean);
    return tokens_per_s.size() > 1 ? std::sqrt(sq / double(tokens_per_s.size() - 1)) : 0.0;
}

BenchResult measure_decode(model::Model& model, const runtime::SplitRuntime* split,
                           const DecodeBenchOptions& o) {
    BenchResult r;
    r.test = "tg" + std::to_string(o.steps) + "x" + std::to_string(o.sequences);
    r.threads = o.threads;
    r.sequences = o.sequences;
    std::fprintf(stderr, "\rbench: %s, %d threads, prefill   ", r.test.c_str(), o.threads);
    model.reserve_kv(o.sequences * blocks_per_sequence(o), kBlockSize);
    std::vector<std::unique_ptr<Sequences>> groups;
    for (int g = 0; g < std::min(model.dp_groups(), o.sequences); ++g)
        groups.push_back(std::make_unique<Sequences>(model, o, g));
    const auto run = [&] { return run_steps(groups, o); };
    run();  // warm-up: size buffers, wake the workers
    const Counters before = read_counters(model, split);
    for (int rep = 0; rep < o.repetitions; ++rep) {
        std::fprintf(stderr, "\rbench: %s, %d threads, run %d/%d   ", r.test.c_str(), o.threads,
                     rep + 1, o.repetitions);
        r.tokens_per_s.push_back(double(o.sequences) * o.steps / run());
    }
    r.per_step = per_step(model, split, before, read_counters(model, split),
                          double(o.steps) * o.repetitions);
    return r;
}

}  // namespace ms::app
