#include "scheduler/scheduler.h"

#include <algorithm>
#include <stdexcept>

namespace ms::scheduler {

Scheduler::Scheduler(const SchedulerConfig& config, KvManager& kv) : config_(config), kv_(kv) {
    if (config.token_budget <= 0 || config.max_running <= 0 || config.decode_tokens <= 0)
        throw std::invalid_argument(
            "scheduler: token budget, running limit and decode tokens must be positive");
}

void Scheduler::add(SequenceSpec spec) {
    if (!spec.tokens.empty()) spec.n_tokens = int32_t(spec.tokens.size());
    if (spec.n_tokens <= 0 || spec.kv_ready < 0 || spec.kv_ready >= spec.n_tokens ||
        spec.generated < 0 || spec.generated > spec.n_tokens)
        throw std::invalid_argument("scheduler: a sequence needs tokens, and one without KV");
    if (contains(spec.id)) throw std::invalid_argument("scheduler: the sequence id is taken");
    const uint64_t id = spec.id;
    Sequence s{.spec = std::move(spec), .arrival = arrivals_++};
    s.n_tokens = s.spec.n_tokens;
    s.kv_ready = s.spec.kv_ready;
    seqs_.emplace(id, std::move(s));
    enqueue(id, false);
}

bool Scheduler::runs_before(const Sequence& a, const Sequence& b) const {
    if (config_.policy == Policy::Priority && a.spec.priority != b.spec.priority)
        return a.spec.priority < b.spec.priority;
    return a.arrival < b.arrival;
}

void Scheduler::enqueue(uint64_t id, bool preempted) {
    if (config_.policy == Policy::Fcfs) {
        preempted ? waiting_.push_front(id) : waiting_.push_back(id);
        return;
    }
    const Sequence& s = seqs_.at(id);
    const auto at = std::find_if(waiting_.begin(), waiting_.end(),
                                 [&](uint64_t other) { return runs_before(s, seqs_.at(other)); });
    waiting_.insert(at, id);
}

void Scheduler::place_running(uint64_t id) {
    const Sequence& s = seqs_.at(id);
    const auto at = config_.policy == Policy::Fcfs
                        ? running_.end()
                        : std::find_if(running_.begin(), running_.end(), [&](uint64_t other) {
                              return runs_before(s, seqs_.at(other));
                          });
    running_.insert(at, id);
}

void Scheduler::finish(uint64_t id) {
    if (!contains(id)) return;
    remove(id);
    finished_.push_back(id);
}

void Scheduler::remove(uint64_t id) {
    std::erase(running_, id);
    std::erase(waiting_, id);
    kv_.free(id);
    seqs_.erase(id);
}

std::span<const int32_t> Scheduler::tokens(uint64_t id) const {
    return seqs_.at(id).spec.tokens;
}

void Scheduler::computed(uint64_t id, int32_t n) {
    Sequence& s = seqs_.at(id);
    if (n < 0 || n > s.pending())
        throw std::logic_error("scheduler: more tokens computed than the sequence has");
    s.computed += n;
    if (!s.spec.tokens.empty()) kv_.commit(id, s.spec.tokens, s.computed);
}

void Scheduler::append(uint64_t id, int32_t token) {
    Sequence& s = seqs_.at(id);
    if (s.spec.tokens.empty()) throw std::logic_error("scheduler: the sequence has no token ids");
    s.spec.tokens.push_back(token);
    ++s.n_tokens;
}

void Scheduler::append_anonymous(uint64_t id, int32_t n) {
    Sequence& s = seqs_.at(id);
    if (!s.spec.tokens.empty()) throw std::logic_error("scheduler: the sequence has token ids");
    s.n_tokens += n;
}

StepPlan Scheduler::schedule() {
    StepPlan plan;
    plan.finished.swap(finished_);
    int32_t budget = config_.token_budget;
    schedule_running(plan, budget);
    give_blocks(plan, budget);
    // A sequence preempted now would only be recomputed at once: admit nobody this step.
    if (plan.preempted.empty()) admit_waiting(plan, budget);
    plan.total_tokens = config_.token_budget - budget;
    return plan;
}

ScheduledSequence Scheduler::slice(const Sequence& s, int32_t budget) const {
    const int32_t n = std::min(s.decoding() ? config_.decode_tokens : s.pending(), budget);
    return {.id = s.spec.id,
            .start = s.computed,
            .n_tokens = n,
            .prefill = !s.decoding(),
            .samples = s.computed + n >= s.n_tokens,
            .cached_tokens = -1,
            .new_blocks = {}};
}

// Decodes first, then prompt chunks, each in running order.
void Scheduler::schedule_running(StepPlan& plan, int32_t& budget) {
    for (const bool decodes : {true, false}) {
        for (uint64_t id : running_) {
            const Sequence& s = seqs_.at(id);
            if (budget <= 0) return;
            if (s.decoding() != decodes) continue;
            plan.sequences.push_back(slice(s, budget));
            budget -= plan.sequences.back().n_tokens;
        }
    }
}

// Blocks for every scheduled running sequence, preempting from the back of the running order
// while the pool is dry.
void Scheduler::give_blocks(StepPlan& plan, int32_t& budget) {
    for (size_t k = 0; k < plan.sequences.size();) {
        ScheduledSequence& entry = plan.sequences[k];
        if (kv_.allocate_slots(entry.id, entry.start + entry.n_tokens, &entry.new_blocks)) {
            ++k;
            continue;
        }
        if (running_.size() == 1) {
            budget += entry.n_tokens;
            const uint64_t id = entry.id;
            plan.sequences.erase(plan.sequences.begin() + ptrdiff_t(k));
            reject(id, plan);
            continue;
        }
        const uint64_t victim = running_.back();
        const auto at = std::find_if(plan.sequences.begin(), plan.sequences.end(),
                                     [&](const auto& e) { return e.id == victim; });
        if (at != plan.sequences.end() && size_t(at - plan.sequences.begin()) < k) --k;
        preempt_last(plan, budget);
    }
}

void Scheduler::preempt_last(StepPlan& plan, int32_t& budget) {
    const uint64_t id = running_.back();
    running_.pop_back();
    const auto at = std::find_if(plan.sequences.begin(), plan.sequences.end(),
                                 [&](const auto& e) { return e.id == id; });
    if (at != plan.sequences.end()) {
        budget += at->n_tokens;
        plan.sequences.erase(at);
    }
    Sequence& s = seqs_.at(id);
    if (preempt_hook_) preempt_hook_(id, kv_.blocks(id), s.computed);
    kv_.free(id);
    s.computed = 0;
    s.kv_ready = 0;  // what arrived with it is gone too: recomputed
    enqueue(id, true);
    plan.preempted.push_back(id);
}

void Scheduler::reject(uint64_t id, StepPlan& plan) {
    remove(id);
    plan.rejected.push_back(id);
}

void Scheduler::admit_waiting(StepPlan& plan, int32_t& budget) {
    int64_t reserved = 0;
    for (uint64_t id : running_) reserved += reserved_blocks(seqs_.at(id));
    const int32_t capacity = kv_.pool().n_total();
    while (!waiting_.empty() && budget > 0 && n_running() < config_.max_running) {
        Sequence& s = seqs_.at(waiting_.front());
        const int32_t need = reserved_blocks(s);
        if (need > capacity) {
            reject(s.spec.id, plan);
            continue;
        }
        if (reserved + need > capacity || !admit(s, budget, plan)) return;
        reserved += need;
        waiting_.pop_front();
        place_running(s.spec.id);
    }
}

// Matches the cached prefix (or takes the KV that came with it) and gives it blocks for this
// step's tokens. False, holding nothing, when it does not fit now.
bool Scheduler::admit(Sequence& s, int32_t& budget, StepPlan& plan) {
    const uint64_t id = s.spec.id;
    int32_t cached = 0;
    if (s.kv_ready > 0)
        s.computed = s.kv_ready;
    else if (!s.spec.tokens.empty())
        s.computed = cached = kv_.match_prefix(id, s.spec.tokens);
    ScheduledSequence entry = slice(s, budget);
    const bool whole = entry.n_tokens == s.pending() || entry.n_tokens == config_.decode_tokens;
    const bool fits = config_.chunked_prefill || whole || plan.sequences.empty();
    if (!fits || !kv_.allocate_slots(id, entry.start + entry.n_tokens)) {
        kv_.free(id);
        s.computed = 0;
        return false;
    }
    const auto table = kv_.blocks(id);
    entry.new_blocks.assign(table.begin(), table.end());
    if (!s.admitted_before) entry.cached_tokens = cached;
    s.admitted_before = true;
    budget -= entry.n_tokens;
    plan.sequences.push_back(std::move(entry));
    return true;
}

int32_t Scheduler::reserved_blocks(const Sequence& s) const {
    const int32_t to_come =
        config_.reserve_new_tokens ? std::max(0, s.spec.max_new_tokens - s.generated()) : 0;
    return kv_.blocks_for(int64_t(s.n_tokens) + to_come);
}

}  // namespace ms::scheduler
