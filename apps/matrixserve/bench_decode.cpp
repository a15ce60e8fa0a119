#include "bench_decode.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "engine/step_executor.h"
#include "kernels/thread_pool.h"
#include "runtime/metrics/runtime_metrics.h"
#include "scheduler/scheduler.h"

namespace ms::app {
namespace {

// Everything the per-step figures are differences of.
struct Counters {
    std::vector<executor::UnitTime> units;
    transport::TransportStats transport;
    uint64_t bubble_nanoseconds = 0;
};

Counters read_counters(const executor::ChainExecutor& chain, const runtime::SplitRuntime* split) {
    return {chain.unit_times(), split ? split->transport_stats() : transport::TransportStats{},
            chain.pipeline_counters().bubble_nanoseconds.load()};
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

// Every run continues the sequences: the warm-up and each repetition add `steps` positions.
int32_t blocks_per_sequence(const DecodeBenchOptions& o) {
    const int64_t positions = int64_t(o.prompt_tokens) + int64_t(o.steps) * (o.repetitions + 1);
    return int32_t((positions + kBlockSize - 1) / kBlockSize);
}

// Sequence s of the bench goes to DP group s % groups.
int32_t sequences_of_group(const DecodeBenchOptions& o, int groups, int group) {
    return (o.sequences - group + groups - 1) / groups;
}

// The sequences of one DP group (all of them with one group), with KV blocks of their own, run
// through the scheduler and step executor as an engine group's are: one step prefills every
// random prompt, then each step decodes one token of every sequence.
class Sequences {
public:
    Sequences(executor::ChainExecutor& chain, const DecodeBenchOptions& o, int dp_group,
              scheduler::BlockId first_block)
        : pool_(o.threads),
          n_vocab_(chain.model().hparams().n_vocab),
          kv_({.n_blocks =
                   sequences_of_group(o, chain.dp_groups(), dp_group) * blocks_per_sequence(o),
               .first_block = first_block,
               .identity = engine::kv_identity(chain.model(), kBlockSize),
               .prefix_caching = false}),
          scheduler_({.token_budget = std::max(1, o.prompt_tokens) * o.sequences,
                      .max_running = o.sequences},
                     kv_),
          executor_(chain, &pool_, dp_group, kBlockSize),
          rng_(42 + dp_group) {
        const int32_t n = sequences_of_group(o, chain.dp_groups(), dp_group);
        for (int32_t s = 0; s < n; ++s) {
            std::vector<int32_t> prompt(size_t(std::max(1, o.prompt_tokens)));
            for (auto& t : prompt) t = random_token();
            scheduler_.add({.id = uint64_t(s) + 1, .tokens = std::move(prompt)});
        }
        step();
    }

    void step() {
        const scheduler::StepPlan plan = scheduler_.schedule();
        executor_.run(plan, scheduler_);
        for (const auto& s : plan.sequences) {
            scheduler_.computed(s.id, s.n_tokens);
            if (s.samples) scheduler_.append(s.id, random_token());
        }
    }

private:
    int32_t random_token() { return int32_t(rng_() % uint64_t(n_vocab_)); }

    ThreadPool pool_;
    int64_t n_vocab_;
    scheduler::KvManager kv_;
    scheduler::Scheduler scheduler_;
    engine::StepExecutor executor_;
    std::mt19937 rng_;
};

// Every group's sequences through `steps` decode steps, the groups on threads of their own;
// returns the wall time in seconds.
double run_steps(std::vector<std::unique_ptr<Sequences>>& groups, const DecodeBenchOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    const auto steps = [&](Sequences& group) {
        for (int32_t i = 0; i < o.steps; ++i) group.step();
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

BenchResult measure_decode(executor::ChainExecutor& chain, const runtime::SplitRuntime* split,
                           const DecodeBenchOptions& o) {
    BenchResult r;
    r.test = "tg" + std::to_string(o.steps) + "x" + std::to_string(o.sequences);
    r.threads = o.threads;
    r.sequences = o.sequences;
    std::fprintf(stderr, "\rbench: %s, %d threads, prefill   ", r.test.c_str(), o.threads);
    model::Model& model = chain.model();
    model.reserve_kv(o.sequences * blocks_per_sequence(o), kBlockSize);
    std::vector<std::unique_ptr<Sequences>> groups;
    scheduler::BlockId first_block = 0;
    for (int g = 0; g < std::min(chain.dp_groups(), o.sequences); ++g) {
        groups.push_back(std::make_unique<Sequences>(chain, o, g, first_block));
        first_block += sequences_of_group(o, chain.dp_groups(), g) * blocks_per_sequence(o);
    }
    const auto run = [&] { return run_steps(groups, o); };
    run();  // warm-up: size buffers, wake the workers
    const Counters before = read_counters(chain, split);
    for (int rep = 0; rep < o.repetitions; ++rep) {
        std::fprintf(stderr, "\rbench: %s, %d threads, run %d/%d   ", r.test.c_str(), o.threads,
                     rep + 1, o.repetitions);
        r.tokens_per_s.push_back(double(o.sequences) * o.steps / run());
    }
    r.per_step = per_step(model, split, before, read_counters(chain, split),
                          double(o.steps) * o.repetitions);
    return r;
}

}  // namespace ms::app
