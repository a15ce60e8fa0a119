#include "runtime/experts/expert_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <stdexcept>

namespace ms::runtime {

ExpertCounters::ExpertCounters(int n_layer, int n_expert)
    : n_layer_(std::max(n_layer, 0)),
      n_expert_(std::max(n_expert, 0)),
      tokens_(new std::atomic<uint64_t>[static_cast<size_t>(n_layer_) *
                                        static_cast<size_t>(n_expert_)]) {
    reset();
}

void ExpertCounters::add(int layer, int expert, uint64_t tokens) {
    if (layer < 0 || layer >= n_layer_ || expert < 0 || expert >= n_expert_) return;
    tokens_[static_cast<size_t>(layer) * static_cast<size_t>(n_expert_) +
            static_cast<size_t>(expert)]
        .fetch_add(tokens, std::memory_order_relaxed);
}

void ExpertCounters::observe(int64_t layer, std::span<const model::ExpertChoice> choices) {
    for (const model::ExpertChoice& c : choices) add(int(layer), int(c.expert), 1);
}

void ExpertCounters::add_routing(int layer, std::span<const int32_t> experts) {
    for (int32_t e : experts) add(layer, e, 1);
}

ExpertCounts ExpertCounters::snapshot() const {
    ExpertCounts c{n_layer_, n_expert_, {}};
    const size_t n = static_cast<size_t>(n_layer_) * static_cast<size_t>(n_expert_);
    c.tokens.reserve(n);
    for (size_t i = 0; i < n; ++i) c.tokens.push_back(tokens_[i].load(std::memory_order_relaxed));
    return c;
}

void ExpertCounters::reset() {
    const size_t n = static_cast<size_t>(n_layer_) * static_cast<size_t>(n_expert_);
    for (size_t i = 0; i < n; ++i) tokens_[i].store(0, std::memory_order_relaxed);
}

namespace {

LayerSkew layer_skew(const ExpertCounts& counts, int layer) {
    LayerSkew s;
    s.layer = layer;
    s.hottest.layer = layer;
    for (int e = 0; e < counts.n_expert; ++e) {
        const uint64_t t = counts.count(layer, e);
        s.tokens += t;
        if (t > s.hottest.tokens) s.hottest = {layer, e, t};
    }
    if (s.tokens > 0)
        s.max_over_mean =
            static_cast<double>(s.hottest.tokens) * counts.n_expert / static_cast<double>(s.tokens);
    return s;
}

}  // namespace

SkewReport skew_report(const ExpertCounts& counts, size_t top_experts) {
    SkewReport r;
    std::vector<HotExpert> all;
    for (int l = 0; l < counts.n_layer; ++l) {
        r.layers.push_back(layer_skew(counts, l));
        r.worst_max_over_mean = std::max(r.worst_max_over_mean, r.layers.back().max_over_mean);
        for (int e = 0; e < counts.n_expert; ++e) all.push_back({l, e, counts.count(l, e)});
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const HotExpert& a, const HotExpert& b) { return a.tokens > b.tokens; });
    all.resize(std::min(all.size(), top_experts));
    r.hottest = std::move(all);
    return r;
}

std::string format_skew(const SkewReport& report) {
    std::string out =
        fmt::format("{:>5} {:>10} {:>9} {:>14}\n", "layer", "tokens", "max/mean", "hottest expert");
    for (const LayerSkew& l : report.layers)
        out += fmt::format("{:>5} {:>10} {:>9.2f} {:>7} ({})\n", l.layer, l.tokens, l.max_over_mean,
                           l.hottest.expert, l.hottest.tokens);
    out += fmt::format("worst max/mean {:.2f}; hottest:", report.worst_max_over_mean);
    for (const HotExpert& h : report.hottest)
        out += fmt::format(" L{}E{}={}", h.layer, h.expert, h.tokens);
    return out + "\n";
}

namespace {

// Copies of each (layer, expert) in a placement, checked against the counts' shape.
std::vector<int> copies_of(const ExpertCounts& counts,
                           const std::vector<WorkerExperts>& placement) {
    std::vector<int> copies(counts.tokens.size(), 0);
    for (const WorkerExperts& w : placement) {
        if (w.experts_by_layer.size() > static_cast<size_t>(counts.n_layer))
            throw std::invalid_argument("worker " + w.worker + " lists more layers than counted");
        for (size_t l = 0; l < w.experts_by_layer.size(); ++l)
            for (int e : w.experts_by_layer[l]) {
                if (e < 0 || e >= counts.n_expert)
                    throw std::invalid_argument("worker " + w.worker + " holds expert " +
                                                std::to_string(e) + " of " +
                                                std::to_string(counts.n_expert));
                const auto& listed = w.experts_by_layer[l];
                if (std::count(listed.begin(), listed.end(), e) > 1)
                    throw std::invalid_argument("worker " + w.worker + " lists expert " +
                                                std::to_string(e) + " twice");
                ++copies[l * static_cast<size_t>(counts.n_expert) + static_cast<size_t>(e)];
            }
    }
    return copies;
}

double max_over_mean(const std::vector<double>& loads) {
    const double total = std::accumulate(loads.begin(), loads.end(), 0.0);
    if (total <= 0) return 0;
    return *std::max_element(loads.begin(), loads.end()) * static_cast<double>(loads.size()) /
           total;
}

struct Candidate {
    ExpertMove move;
    size_t from = 0;
    size_t to = 0;
    double new_max = 0;
};

class Balancer {
public:
    Balancer(const ExpertCounts& counts, std::vector<WorkerExperts> placement,
             const RebalanceOptions& options)
        : counts_(counts), placement_(std::move(placement)), options_(options) {
        copies_ = copies_of(counts_, placement_);
        for (WorkerExperts& w : placement_) w.experts_by_layer.resize(counts_.n_layer);
        loads_ = worker_loads(counts_, placement_);
    }

    // Applies the best improving action; false when none improves or the target is met.
    bool step(std::vector<ExpertMove>& moves) {
        if (placement_.size() < 2 || max_over_mean(loads_) <= options_.target_max_over_mean)
            return false;
        const size_t busiest =
            static_cast<size_t>(std::max_element(loads_.begin(), loads_.end()) - loads_.begin());
        std::optional<Candidate> best;
        for (size_t l = 0; l < placement_[busiest].experts_by_layer.size(); ++l)
            for (int e : placement_[busiest].experts_by_layer[l])
                consider_expert(busiest, static_cast<int>(l), e, best);
        if (!best || best->new_max >= loads_[busiest] * (1 - 1e-9)) return false;
        apply(*best);
        moves.push_back(best->move);
        return true;
    }

    const std::vector<WorkerExperts>& placement() const { return placement_; }
    const std::vector<double>& loads() const { return loads_; }

private:
    size_t index(int layer, int expert) const {
        return static_cast<size_t>(layer) * static_cast<size_t>(counts_.n_expert) +
               static_cast<size_t>(expert);
    }
    bool holds(size_t w, int layer, int expert) const {
        const auto& v = placement_[w].experts_by_layer[static_cast<size_t>(layer)];
        return std::find(v.begin(), v.end(), expert) != v.end();
    }
    size_t held_total(size_t w) const {
        size_t n = 0;
        for (const auto& v : placement_[w].experts_by_layer) n += v.size();
        return n;
    }
    bool has_room(size_t w) const {
        return options_.max_experts_per_worker == 0 ||
               held_total(w) < options_.max_experts_per_worker;
    }

    void consider_expert(size_t from, int layer, int expert, std::optional<Candidate>& best) const {
        for (size_t to = 0; to < placement_.size(); ++to) {
            if (to == from || holds(to, layer, expert) || !has_room(to)) continue;
            for (auto kind : {ExpertMove::Kind::move, ExpertMove::Kind::replicate}) {
                if (kind == ExpertMove::Kind::replicate && !options_.allow_replication) continue;
                Candidate c{{kind, layer, expert, placement_[from].worker, placement_[to].worker},
                            from,
                            to,
                            0};
                const std::vector<double> loads = loads_after(c);
                c.new_max = *std::max_element(loads.begin(), loads.end());
                if (!best || c.new_max < best->new_max) best = c;
            }
        }
    }

    std::vector<double> loads_after(const Candidate& c) const {
        std::vector<double> loads = loads_;
        const double tokens = static_cast<double>(counts_.count(c.move.layer, c.move.expert));
        const int k = copies_[index(c.move.layer, c.move.expert)];
        if (c.move.kind == ExpertMove::Kind::move) {
            loads[c.from] -= tokens / k;
            loads[c.to] += tokens / k;
            return loads;
        }
        for (size_t w = 0; w < placement_.size(); ++w)
            if (holds(w, c.move.layer, c.move.expert)) loads[w] -= tokens / k - tokens / (k + 1);
        loads[c.to] += tokens / (k + 1);
        return loads;
    }

    void apply(const Candidate& c) {
        loads_ = loads_after(c);
        auto& to = placement_[c.to].experts_by_layer[static_cast<size_t>(c.move.layer)];
        to.insert(std::upper_bound(to.begin(), to.end(), c.move.expert), c.move.expert);
        if (c.move.kind == ExpertMove::Kind::replicate) {
            ++copies_[index(c.move.layer, c.move.expert)];
            return;
        }
        auto& from = placement_[c.from].experts_by_layer[static_cast<size_t>(c.move.layer)];
        from.erase(std::find(from.begin(), from.end(), c.move.expert));
    }

    const ExpertCounts& counts_;
    std::vector<WorkerExperts> placement_;
    RebalanceOptions options_;
    std::vector<int> copies_;
    std::vector<double> loads_;
};

}  // namespace

std::vector<double> worker_loads(const ExpertCounts& counts,
                                 const std::vector<WorkerExperts>& placement) {
    const std::vector<int> copies = copies_of(counts, placement);
    std::vector<double> loads;
    for (const WorkerExperts& w : placement) {
        double load = 0;
        for (size_t l = 0; l < w.experts_by_layer.size(); ++l)
            for (int e : w.experts_by_layer[l])
                load += static_cast<double>(counts.count(static_cast<int>(l), e)) /
                        copies[l * static_cast<size_t>(counts.n_expert) + static_cast<size_t>(e)];
        loads.push_back(load);
    }
    return loads;
}

RebalancePlan plan_rebalance(const ExpertCounts& counts, const std::vector<WorkerExperts>& current,
                             const RebalanceOptions& options) {
    RebalancePlan plan;
    plan.load_before = worker_loads(counts, current);
    plan.max_over_mean_before = max_over_mean(plan.load_before);
    Balancer balancer(counts, current, options);
    while (plan.moves.size() < options.max_moves && balancer.step(plan.moves)) {
    }
    plan.placement = balancer.placement();
    plan.load_after = balancer.loads();
    plan.max_over_mean_after = max_over_mean(plan.load_after);
    return plan;
}

namespace {

std::vector<int>& experts_of(std::vector<WorkerExperts>& placement, const std::string& worker,
                             int layer, const std::string& move) {
    for (WorkerExperts& w : placement)
        if (w.worker == worker) {
            if (layer < 0 || size_t(layer) >= w.experts_by_layer.size())
                throw std::invalid_argument(move + ": " + worker + " holds no experts of layer " +
                                            std::to_string(layer));
            return w.experts_by_layer[size_t(layer)];
        }
    throw std::invalid_argument(move + ": no expert worker " + worker);
}

}  // namespace

std::vector<WorkerExperts> apply_moves(std::vector<WorkerExperts> placement,
                                       const std::vector<ExpertMove>& moves) {
    for (const ExpertMove& m : moves) {
        const std::string what =
            fmt::format("{} layer {} expert {} from {} to {}",
                        m.kind == ExpertMove::Kind::move ? "move" : "replicate", m.layer, m.expert,
                        m.from, m.to);
        std::vector<int>& from = experts_of(placement, m.from, m.layer, what);
        std::vector<int>& to = experts_of(placement, m.to, m.layer, what);
        const auto held = std::find(from.begin(), from.end(), m.expert);
        if (held == from.end())
            throw std::invalid_argument(what + ": " + m.from + " does not hold it");
        if (std::count(to.begin(), to.end(), m.expert))
            throw std::invalid_argument(what + ": " + m.to + " already holds it");
        to.insert(std::upper_bound(to.begin(), to.end(), m.expert), m.expert);
        if (m.kind == ExpertMove::Kind::move) from.erase(held);
    }
    return placement;
}

}  // namespace ms::runtime
