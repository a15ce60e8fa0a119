#include "sim/simulator.h"

#include <algorithm>
#include <memory>
#include <queue>

#include "sim/workload.h"

namespace ms::sim {
namespace {

// One DP group: the engine's scheduler over its own KV blocks, and the plan of its step.
struct Group {
    std::unique_ptr<scheduler::KvManager> kv;
    std::unique_ptr<scheduler::Scheduler> scheduler;
    scheduler::StepPlan plan;

    size_t load() const { return size_t(scheduler->n_running() + scheduler->n_waiting()); }
};

// Tokens produced at times; the sustained rate is measured between 10% and 90% of the total
// so that ramp-up and the draining tail do not count.
class TokenSeries {
public:
    void add(double t, int64_t tokens) {
        if (tokens == 0) return;
        total_ += tokens;
        points_.push_back({t, total_});
    }
    double sustained_rate() const;

private:
    std::vector<std::pair<double, int64_t>> points_;
    int64_t total_ = 0;
};

double TokenSeries::sustained_rate() const {
    if (points_.empty()) return 0;
    auto at = [&](double share) {
        const auto target = static_cast<int64_t>(share * total_);
        return *std::lower_bound(points_.begin(), points_.end(), target,
                                 [](const auto& p, int64_t v) { return p.second < v; });
    };
    const auto lo = at(0.1), hi = at(0.9);
    if (hi.first <= lo.first) return total_ / points_.back().first;
    return double(hi.second - lo.second) / (hi.first - lo.first);
}

struct Pool {
    const PoolSpec* spec = nullptr;
    std::unique_ptr<CostModel> cost;
    scheduler::SchedulerConfig limits;
    int32_t kv_blocks = 0;  // per group
    int first_group = 0;
    TokenSeries tokens;
    PoolReport report;
    Breakdown ops_sum;
    double device_seconds = 0, batch_sum = 0, flops_sum = 0;
};

struct Instance {
    int pool = 0;
    int first_group = 0;
    bool busy = false;
    bool wake_pending = false;
    int64_t steps = 0;
};

enum class EventKind { arrive_prefill, arrive_decode, wake, step_end };

struct Event {
    double t;
    EventKind kind;
    uint32_t index;
    bool operator>(const Event& o) const {
        return t != o.t ? t > o.t : static_cast<int>(kind) > static_cast<int>(o.kind);
    }
};

class Simulation {
public:
    Simulation(const Deployment& d, const SimOptions& options);
    SimResult run();

private:
    void add_pool(const PoolSpec& spec);
    void handle(const Event& e);
    void arrive(uint32_t id, int pool, double t);
    void arrive_from_trace(Instance& in, double t);
    void start_step(uint32_t instance, double t);
    void end_step(uint32_t instance, double t);
    int64_t advance(Group& g, bool prefill_pool, double t);
    void advance_prompt(Group& g, const scheduler::ScheduledSequence& s, bool prefill_pool,
                        double t);
    void advance_decode(Group& g, const scheduler::ScheduledSequence& s, double t);
    void add_tokens(Group& g, uint64_t id, int32_t n);
    void end_request(Group& g, uint64_t id, double t);
    double kv_transfer_time(int32_t prompt_tokens) const;
    SimResult collect() const;

    const Deployment& d_;
    const SimOptions& options_;
    std::vector<Request> requests_;
    size_t n_timed_ = 0;      // requests_ before this arrive by time; the rest are a trace's
    size_t next_traced_ = 0;  // the next trace request to arrive
    std::vector<Pool> pools_;
    std::vector<Instance> instances_;
    std::vector<Group> groups_;
    std::vector<GroupLoad> loads_;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
    Rng rng_;
    int prefill_pool_ = -1, decode_pool_ = -1;
    double now_ = 0;
};

std::vector<Request> trace_requests(const std::vector<TraceRequest>& trace) {
    std::vector<Request> out;
    for (const TraceRequest& t : trace)
        out.push_back({.arrival_step = t.arrival_step,
                       .tokens = t.prompt,
                       .prompt = int32_t(t.prompt.size()),
                       .output = t.output});
    return out;
}

Simulation::Simulation(const Deployment& d, const SimOptions& options)
    : d_(d),
      options_(options),
      requests_(options.trace.empty() ? generate_requests(d.workload)
                                      : trace_requests(options.trace)),
      rng_(d.workload.seed ^ 0x5eed) {
    if (d.prefill.enabled) prefill_pool_ = static_cast<int>(pools_.size()), add_pool(d.prefill);
    if (d.decode.enabled) decode_pool_ = static_cast<int>(pools_.size()), add_pool(d.decode);
    if (!options.trace.empty() && (instances_.size() != 1 || groups_.size() != 1))
        throw ConfigError("a trace replays on one instance with one DP group");
    n_timed_ = options.trace.empty() ? requests_.size() : 0;
    next_traced_ = n_timed_;
}

void Simulation::add_pool(const PoolSpec& spec) {
    Pool& p = pools_.emplace_back();
    p.spec = &spec;
    p.cost = std::make_unique<CostModel>(d_, spec);
    const double kv_room = d_.system.device.hbm_bytes - p.cost->weight_bytes_per_device();
    if (kv_room <= 0)
        throw ConfigError("pools." + spec.name + ": weights need " +
                          std::to_string(p.cost->weight_bytes_per_device() / 1e9) +
                          " GB per device, more than its HBM");
    const SchedulingOptions& o = options_.scheduling;
    const auto kv_tokens = static_cast<int64_t>(kv_room / p.cost->kv_bytes_per_token());
    p.kv_blocks = o.kv_blocks > 0 ? o.kv_blocks
                                  : int32_t(std::min<int64_t>(kv_tokens / o.block_size, INT32_MAX));
    p.limits = {.token_budget = spec.token_budget,
                .max_running = spec.batch_per_group,
                .decode_tokens = 1 + d_.mtp_layers,
                .policy = o.policy,
                .reserve_new_tokens = o.reserve_new_tokens};
    p.first_group = static_cast<int>(groups_.size());
    for (int i = 0; i < spec.instances; ++i) {
        instances_.push_back({.pool = static_cast<int>(pools_.size()) - 1,
                              .first_group = static_cast<int>(groups_.size())});
        for (int g = 0; g < spec.dp; ++g) {
            Group& group = groups_.emplace_back();
            group.kv = std::make_unique<scheduler::KvManager>(
                scheduler::KvManagerConfig{.n_blocks = p.kv_blocks,
                                           .identity = {d_.model.name, o.block_size, "kv"},
                                           .prefix_caching = o.prefix_caching});
            group.scheduler = std::make_unique<scheduler::Scheduler>(p.limits, *group.kv);
        }
    }
}

SimResult Simulation::run() {
    size_t next = 0;
    const int entry = prefill_pool_ >= 0 ? prefill_pool_ : decode_pool_;
    if (next_traced_ < requests_.size()) events_.push({0, EventKind::wake, 0});
    while (next < n_timed_ || !events_.empty()) {
        if (next < n_timed_ && (events_.empty() || requests_[next].arrival <= events_.top().t)) {
            now_ = requests_[next].arrival;
            arrive(static_cast<uint32_t>(next++), entry, now_);
            continue;
        }
        const Event e = events_.top();
        events_.pop();
        now_ = e.t;
        handle(e);
    }
    return collect();
}

void Simulation::handle(const Event& e) {
    switch (e.kind) {
        case EventKind::arrive_prefill:
            arrive(e.index, prefill_pool_, e.t);
            break;
        case EventKind::arrive_decode:
            arrive(e.index, decode_pool_, e.t);
            break;
        case EventKind::wake:
            instances_[e.index].wake_pending = false;
            if (!instances_[e.index].busy) start_step(e.index, e.t);
            break;
        case EventKind::step_end:
            end_step(e.index, e.t);
            break;
    }
}

// Route to the least-loaded DP group of the pool; wake its instance after every arrival at
// this instant has been queued, so a burst forms one batch.
void Simulation::arrive(uint32_t id, int pool_index, double t) {
    const Pool& pool = pools_[pool_index];
    const int groups = pool.spec->instances * pool.spec->dp;
    int best = pool.first_group;
    for (int g = pool.first_group + 1; g < pool.first_group + groups; ++g)
        if (groups_[g].load() < groups_[best].load()) best = g;
    const Request& r = requests_[id];
    // Requests reach a decode pool prefilled (by the prefill pool, or outside the deployment
    // when it has none), with their first token: their KV comes with them.
    const bool prefilled = pool_index == decode_pool_ && !options_.scheduling.colocated;
    scheduler::SequenceSpec spec{
        .id = id, .tokens = r.tokens, .n_tokens = r.prompt, .max_new_tokens = r.output};
    if (prefilled) {
        if (!spec.tokens.empty()) spec.tokens.push_back(0);
        spec.n_tokens = r.prompt + 1;
        spec.generated = 1;
        spec.kv_ready = r.prompt;
    }
    groups_[best].scheduler->add(std::move(spec));
    const auto instance = static_cast<uint32_t>(
        std::upper_bound(instances_.begin(), instances_.end(), best,
                         [](int g, const Instance& in) { return g < in.first_group; }) -
        instances_.begin() - 1);
    Instance& in = instances_[instance];
    if (!in.busy && !in.wake_pending) {
        in.wake_pending = true;
        events_.push({t, EventKind::wake, instance});
    }
}

// Trace requests due by the instance's step count, or the next ones if it has run dry.
void Simulation::arrive_from_trace(Instance& in, double t) {
    if (next_traced_ >= requests_.size()) return;
    const bool idle = groups_[size_t(in.first_group)].load() == 0;
    const int64_t due = idle ? std::max(in.steps, requests_[next_traced_].arrival_step) : in.steps;
    in.steps = due;
    while (next_traced_ < requests_.size() && requests_[next_traced_].arrival_step <= due) {
        requests_[next_traced_].arrival = t;
        arrive(uint32_t(next_traced_++), in.pool, t);
    }
}

void Simulation::start_step(uint32_t instance, double t) {
    Instance& in = instances_[instance];
    arrive_from_trace(in, t);
    Pool& pool = pools_[in.pool];
    loads_.assign(pool.spec->dp, GroupLoad{});
    double batch = 0;
    for (int i = 0; i < pool.spec->dp; ++i) {
        Group& g = groups_[in.first_group + i];
        g.plan = {};
        if (g.load() == 0) continue;  // as an engine group's loop, it sleeps
        g.plan = g.scheduler->schedule();
        if (options_.on_plan) options_.on_plan(in.first_group + i, g.plan);
        GroupLoad& load = loads_[i];
        for (const scheduler::ScheduledSequence& s : g.plan.sequences) {
            const double n = s.n_tokens, c = s.start;
            const double context = n * c + n * (n + 1) / 2;
            if (!s.prefill) {
                load.decode_tokens += n, load.decode_context += context;
                load.decode_kv += c + n, load.logits += n;
            } else {
                load.prefill_tokens += n, load.prefill_context += context;
                if (s.samples) load.logits += 1;
            }
        }
        batch += g.scheduler->n_running();
    }
    const StepCost cost = pool.cost->step(loads_);
    in.busy = cost.seconds > 0;
    if (!in.busy) return;
    ++in.steps;
    const double step = cost.seconds + d_.scheduling_s;
    pool.report.steps++;
    pool.device_seconds += cost.seconds;
    pool.ops_sum += cost.ops;
    pool.batch_sum += batch / pool.spec->dp;
    pool.flops_sum += cost.flops;
    events_.push({t + step, EventKind::step_end, instance});
}

void Simulation::end_step(uint32_t instance, double t) {
    Instance& in = instances_[instance];
    Pool& pool = pools_[in.pool];
    const bool prefill_pool = in.pool == prefill_pool_ && !options_.scheduling.colocated;
    int64_t produced = 0;
    for (int i = 0; i < pool.spec->dp; ++i)
        produced += advance(groups_[in.first_group + i], prefill_pool, t);
    pool.tokens.add(t, produced);
    in.busy = false;
    start_step(instance, t);
}

// Applies a finished step to a group's sequences. Returns the tokens the step produced (prompt
// tokens in prefill, generated in decode).
int64_t Simulation::advance(Group& g, bool prefill_pool, double t) {
    int64_t produced = 0;
    for (const scheduler::ScheduledSequence& s : g.plan.sequences) {
        if (s.prefill) {
            produced += s.n_tokens;
            advance_prompt(g, s, prefill_pool, t);
        } else {
            const int32_t before = requests_[s.id].generated;
            advance_decode(g, s, t);
            produced += requests_[s.id].generated - before;
        }
    }
    return produced;
}

// A prompt chunk (or a preempted request's recomputed tokens); its end yields a token. A
// prefill pool's request then leaves: decoded in the decode pool, or not at all without one.
void Simulation::advance_prompt(Group& g, const scheduler::ScheduledSequence& s, bool prefill_pool,
                                double t) {
    g.scheduler->computed(s.id, s.n_tokens);
    if (!s.samples) return;
    Request& r = requests_[s.id];
    if (r.generated == 0) r.first_token = t;
    add_tokens(g, s.id, 1);
    if (r.generated >= r.output || (prefill_pool && decode_pool_ < 0))
        return end_request(g, s.id, t);
    if (!prefill_pool) return;
    g.scheduler->finish(s.id);
    events_.push({t + kv_transfer_time(r.prompt), EventKind::arrive_decode, uint32_t(s.id)});
}

// A decode step with speculative drafts keeps the ones accepted (MTP acceptance rate).
void Simulation::advance_decode(Group& g, const scheduler::ScheduledSequence& s, double t) {
    Request& r = requests_[s.id];
    int32_t accepted = 1;
    while (accepted < s.n_tokens && rng_.uniform() < d_.mtp_acceptance) ++accepted;
    accepted = std::min(accepted, r.output - r.generated);
    if (r.generated == 0) r.first_token = t;
    add_tokens(g, s.id, accepted);  // before computed(): drafts are positions past the last token
    g.scheduler->computed(s.id, accepted);
    if (r.generated >= r.output) end_request(g, s.id, t);
}

// Generated tokens: their ids do not matter, only that every run of the trace agrees on them.
void Simulation::add_tokens(Group& g, uint64_t id, int32_t n) {
    Request& r = requests_[id];
    r.generated += n;
    if (r.tokens.empty()) return g.scheduler->append_anonymous(id, n);
    for (int32_t i = 0; i < n; ++i) g.scheduler->append(id, 0);
}

void Simulation::end_request(Group& g, uint64_t id, double t) {
    requests_[id].finish = t;
    g.scheduler->finish(id);
}

double Simulation::kv_transfer_time(int32_t prompt_tokens) const {
    const Link& link = d_.system.link_for(d_.devices());
    const double bytes = prompt_tokens * pools_[decode_pool_].cost->kv_bytes_per_token();
    return link.latency_s + bytes / (link.bytes_per_s * d_.system.device.eff.comm_bandwidth);
}

PoolReport pool_report(const Pool& p, const Deployment& d, double makespan) {
    PoolReport r = p.report;
    const PoolSpec& spec = *p.spec;
    r.name = spec.name;
    r.devices = spec.instances * spec.devices;
    r.chips = double(r.devices) / d.system.device.devices_per_chip;
    r.tokens_per_s = p.tokens.sustained_rate();
    if (r.steps == 0) return r;
    const double steps = double(r.steps);
    r.mean_step_s = p.device_seconds / steps;
    r.scheduling_s = d.scheduling_s;
    for (int i = 0; i < kOpClasses; ++i) r.mean_ops.seconds[i] = p.ops_sum.seconds[i] / steps;
    r.mean_batch = p.batch_sum / steps;
    const double busy = p.device_seconds + steps * d.scheduling_s;
    r.busy_fraction = busy / (makespan * spec.instances);
    const double peak =
        d.precision.low_precision_matmul ? d.system.device.int8_flops : d.system.device.bf16_flops;
    r.flops_utilisation = p.flops_sum / (busy * peak);
    return r;
}

LatencyStats summarize(std::vector<double>& v) {
    LatencyStats s;
    if (v.empty()) return s;
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / v.size();
    auto pct = [&](double q) {
        const auto k = static_cast<size_t>(q * (v.size() - 1));
        std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
        return v[k];
    };
    s.p50 = pct(0.5);
    s.p99 = pct(0.99);
    return s;
}

SimResult Simulation::collect() const {
    SimResult res;
    res.deployment = d_.name;
    res.requests = static_cast<int64_t>(requests_.size());
    res.makespan_s = now_;
    res.devices = d_.devices();
    res.chips = d_.chips();
    std::vector<double> ttft, tpot, e2e;
    for (const Request& r : requests_) {
        if (r.finish < 0) continue;
        res.finished++;
        ttft.push_back(r.first_token - r.arrival);
        e2e.push_back(r.finish - r.arrival);
        if (r.generated > 1) tpot.push_back((r.finish - r.first_token) / (r.generated - 1));
    }
    res.ttft = summarize(ttft), res.tpot = summarize(tpot), res.e2e = summarize(e2e);
    for (const Pool& p : pools_) res.pools.push_back(pool_report(p, d_, now_));
    res.output_tokens_per_s = decode_pool_ >= 0 ? res.pools.back().tokens_per_s : 0;
    return res;
}

}  // namespace

SimResult simulate(const Deployment& d, const SimOptions& options) {
    return Simulation(d, options).run();
}

}  // namespace ms::sim
