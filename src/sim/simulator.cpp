#include "sim/simulator.h"

#include <algorithm>
#include <memory>
#include <queue>

#include "sim/workload.h"

namespace ms::sim {
namespace {

using scheduler::SequenceState;

struct Group {
    std::vector<SequenceState> running;
    std::vector<SequenceState> waiting;  // waiting[head..] still queued
    size_t head = 0;
    std::vector<int32_t> step_tokens;  // aligned with running during a step

    size_t queued() const { return waiting.size() - head; }
    size_t load() const { return running.size() + queued(); }
    void pop_front(size_t n);
};

void Group::pop_front(size_t n) {
    head += n;
    if (head > 64 && head * 2 > waiting.size()) {
        waiting.erase(waiting.begin(), waiting.begin() + static_cast<long>(head));
        head = 0;
    }
}

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
    scheduler::StepLimits limits;
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
    Simulation(const Deployment& d, const scheduler::BatchPolicy& policy);
    SimResult run();

private:
    void add_pool(const PoolSpec& spec);
    void handle(const Event& e);
    void arrive(uint32_t id, int pool, double t);
    void start_step(uint32_t instance, double t);
    void end_step(uint32_t instance, double t);
    int64_t advance(Group& g, double t);
    bool advance_one(SequenceState& s, int32_t tokens, double t, int64_t& produced);
    double kv_transfer_time(int32_t prompt_tokens) const;
    SimResult collect() const;

    const Deployment& d_;
    const scheduler::BatchPolicy& policy_;
    std::vector<Request> requests_;
    std::vector<Pool> pools_;
    std::vector<Instance> instances_;
    std::vector<Group> groups_;
    std::vector<GroupLoad> loads_;
    scheduler::StepPlan plan_;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
    Rng rng_;
    int prefill_pool_ = -1, decode_pool_ = -1;
    double now_ = 0;
};

Simulation::Simulation(const Deployment& d, const scheduler::BatchPolicy& policy)
    : d_(d),
      policy_(policy),
      requests_(generate_requests(d.workload)),
      rng_(d.workload.seed ^ 0x5eed) {
    if (d.prefill.enabled) prefill_pool_ = static_cast<int>(pools_.size()), add_pool(d.prefill);
    if (d.decode.enabled) decode_pool_ = static_cast<int>(pools_.size()), add_pool(d.decode);
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
    p.limits.kv_capacity_tokens = static_cast<int64_t>(kv_room / p.cost->kv_bytes_per_token());
    p.limits.token_budget = spec.token_budget;
    p.limits.max_running = spec.batch_per_group;
    p.limits.decode_tokens_per_seq = 1 + d_.mtp_layers;
    p.first_group = static_cast<int>(groups_.size());
    for (int i = 0; i < spec.instances; ++i) {
        instances_.push_back(
            {static_cast<int>(pools_.size()) - 1, static_cast<int>(groups_.size()), false, false});
        groups_.resize(groups_.size() + spec.dp);
    }
}

SimResult Simulation::run() {
    size_t next = 0;
    const int entry = prefill_pool_ >= 0 ? prefill_pool_ : decode_pool_;
    while (next < requests_.size() || !events_.empty()) {
        if (next < requests_.size() &&
            (events_.empty() || requests_[next].arrival <= events_.top().t)) {
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
    const bool prefilled = pool_index == decode_pool_;
    groups_[best].waiting.push_back(
        {id, r.prompt, prefilled ? r.prompt : 0, r.output - r.generated});
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

void Simulation::start_step(uint32_t instance, double t) {
    Instance& in = instances_[instance];
    Pool& pool = pools_[in.pool];
    loads_.assign(pool.spec->dp, GroupLoad{});
    double batch = 0;
    for (int i = 0; i < pool.spec->dp; ++i) {
        Group& g = groups_[in.first_group + i];
        const std::span<const SequenceState> waiting(g.waiting.data() + g.head, g.queued());
        policy_.plan_step(g.running, waiting, pool.limits, plan_);
        g.step_tokens.assign(plan_.tokens.begin(), plan_.tokens.end());
        for (int j = 0; j < plan_.admitted(); ++j) {
            g.running.push_back(waiting[j]);
            g.step_tokens.push_back(plan_.admitted_tokens[j]);
        }
        g.pop_front(plan_.admitted());
        GroupLoad& load = loads_[i];
        for (size_t k = 0; k < g.running.size(); ++k) {
            const SequenceState& s = g.running[k];
            const double n = g.step_tokens[k], c = s.computed_tokens;
            const double context = n * c + n * (n + 1) / 2;
            if (s.decoding()) {
                load.decode_tokens += n, load.decode_context += context;
                load.decode_kv += c + n, load.logits += n;
            } else {
                load.prefill_tokens += n, load.prefill_context += context;
                if (c + n >= s.prompt_tokens) load.logits += 1;
            }
        }
        batch += g.running.size();
    }
    const StepCost cost = pool.cost->step(loads_);
    in.busy = cost.seconds > 0;
    if (!in.busy) return;
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
    int64_t produced = 0;
    for (int i = 0; i < pool.spec->dp; ++i) produced += advance(groups_[in.first_group + i], t);
    pool.tokens.add(t, produced);
    in.busy = false;
    start_step(instance, t);
}

// Applies a finished step to a group's running sequences, dropping those that leave.
// Returns the tokens the step produced (prompt tokens in prefill, generated in decode).
int64_t Simulation::advance(Group& g, double t) {
    size_t kept = 0;
    int64_t produced = 0;
    for (size_t k = 0; k < g.running.size(); ++k) {
        SequenceState s = g.running[k];
        if (advance_one(s, g.step_tokens[k], t, produced)) g.running[kept++] = s;
    }
    g.running.resize(kept);
    return produced;
}

// Returns whether the sequence stays in this group.
bool Simulation::advance_one(SequenceState& s, int32_t tokens, double t, int64_t& produced) {
    if (tokens == 0) return true;
    Request& r = requests_[s.id];
    if (!s.decoding()) {
        s.computed_tokens += tokens;
        produced += tokens;
        if (!s.decoding()) return true;
        r.first_token = t;
        r.generated = 1;
        if (r.generated >= r.output || decode_pool_ < 0) return r.finish = t, false;
        events_.push({t + kv_transfer_time(r.prompt), EventKind::arrive_decode, s.id});
        return false;
    }
    int32_t accepted = 1;
    while (accepted < tokens && rng_.uniform() < d_.mtp_acceptance) ++accepted;
    accepted = std::min(accepted, r.output - r.generated);
    if (r.generated == 0) r.first_token = t;
    r.generated += accepted;
    s.computed_tokens += accepted;
    produced += accepted;
    if (r.generated < r.output) return true;
    r.finish = t;
    return false;
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

SimResult simulate(const Deployment& d, const scheduler::BatchPolicy& policy) {
    return Simulation(d, policy).run();
}

}  // namespace ms::sim
