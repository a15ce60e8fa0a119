// The scheduler: which sequences compute how many tokens in the next step, with which KV
// blocks. Each schedule() returns a StepPlan: decodes first (a user waits for each token), then
// unfinished prompt chunks, then waiting sequences admitted while the token budget, the running
// limit and the KV blocks allow. When blocks run out, the lowest-priority, newest running
// sequence is preempted: its KV is dropped and it queues again, to be recomputed (its cached
// prefix blocks are found again if still there). The engine executes plans with a model; the
// simulator with a cost model. Both report back through computed() and append().
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "scheduler/kv_manager.h"

namespace ms::scheduler {

enum class Policy {
    Fcfs,      // arrival order; preempted sequences go back to the front of the queue
    Priority,  // lower priority value first, then arrival order (vLLM's convention)
};

struct SchedulerConfig {
    int32_t token_budget = 512;   // tokens computed in one step, over all sequences
    int32_t max_running = 64;     // sequences holding KV at once
    int32_t decode_tokens = 1;    // per decoding sequence and step: 1 + speculative drafts
    bool chunked_prefill = true;  // false: a prompt is admitted only when it fits the budget whole
    Policy policy = Policy::Fcfs;
    // Admission sets KV aside for the whole of max_new_tokens too: nothing is ever preempted,
    // at the price of fewer sequences running. Off: admission counts tokens known so far.
    bool reserve_new_tokens = false;
};

struct SequenceSpec {
    uint64_t id = 0;
    std::vector<int32_t> tokens =
        {};                 // the prompt; empty when only its length matters (simulation)
    int32_t n_tokens = 0;   // its length (tokens.size() when tokens are given)
    int32_t generated = 0;  // of those, the last ones generated already (after prefill)
    int32_t max_new_tokens = 0;
    int32_t priority = 0;
    // Leading tokens whose KV arrives with the sequence (a decode instance after prefill);
    // blocks are set aside for them on admission. 0: computed here.
    int32_t kv_ready = 0;
};

struct ScheduledSequence {
    uint64_t id = 0;
    int32_t start = 0;           // position of its first token this step; earlier ones have KV
    int32_t n_tokens = 0;        // computed this step
    bool prefill = false;        // prompt (or recomputed) tokens rather than a decode
    bool samples = false;        // the step reaches its last token, whose logits are wanted
    int32_t cached_tokens = -1;  // on its first admission: prompt tokens found cached, else -1
    std::vector<BlockId> new_blocks =
        {};  // not held before this step (on admission: the whole table)
};

struct StepPlan {
    std::vector<ScheduledSequence> sequences;  // in running order
    std::vector<uint64_t> preempted;           // lost their KV this step; queued again
    std::vector<uint64_t> rejected;            // can never fit the KV blocks; removed: end them
    std::vector<uint64_t> finished;  // finish()ed since the last plan (workers drop their state)
    int32_t total_tokens = 0;
};

class Scheduler {
public:
    Scheduler(const SchedulerConfig& config, KvManager& kv);

    void add(SequenceSpec spec);
    // Ends a sequence wherever it is and frees its KV; unknown ids are ignored.
    void finish(uint64_t id);
    StepPlan schedule();
    // After the step: n more of its tokens have KV (for a decode with drafts, the accepted ones,
    // appended first). Throws std::logic_error past its last token.
    void computed(uint64_t id, int32_t n);
    void append(uint64_t id, int32_t token);        // a generated token
    void append_anonymous(uint64_t id, int32_t n);  // n generated tokens whose ids do not matter

    // Called as a running sequence is preempted, before its blocks are released: what it
    // computed is still in them (the seam for swapping KV out to a pool instead of recomputing).
    using PreemptHook =
        std::function<void(uint64_t id, std::span<const BlockId> blocks, int32_t computed)>;
    void set_preempt_hook(PreemptHook hook) { preempt_hook_ = std::move(hook); }

    bool contains(uint64_t id) const { return seqs_.count(id) != 0; }
    std::span<const int32_t> tokens(uint64_t id) const;
    std::span<const BlockId> blocks(uint64_t id) const { return kv_.blocks(id); }
    int32_t n_running() const { return int32_t(running_.size()); }
    int32_t n_waiting() const { return int32_t(waiting_.size()); }
    const SchedulerConfig& config() const { return config_; }

private:
    struct Sequence {
        SequenceSpec spec;
        int32_t n_tokens = 0;  // prompt and generated
        int32_t computed = 0;
        int32_t kv_ready = 0;  // reset when preempted: recomputed then
        uint64_t arrival = 0;
        bool admitted_before = false;

        int32_t pending() const { return n_tokens - computed; }
        int32_t generated() const { return n_tokens - spec.n_tokens + spec.generated; }
        bool decoding() const { return pending() == 1 && generated() > 0; }
    };
    bool runs_before(const Sequence& a, const Sequence& b) const;
    void enqueue(uint64_t id, bool preempted);
    void place_running(uint64_t id);
    void schedule_running(StepPlan& plan, int32_t& budget);
    void give_blocks(StepPlan& plan, int32_t& budget);
    void preempt_last(StepPlan& plan, int32_t& budget);
    void remove(uint64_t id);  // from wherever it is, with its KV
    void reject(uint64_t id, StepPlan& plan);
    void admit_waiting(StepPlan& plan, int32_t& budget);
    bool admit(Sequence& s, int32_t& budget, StepPlan& plan);
    ScheduledSequence slice(const Sequence& s, int32_t budget) const;
    int32_t reserved_blocks(const Sequence& s) const;

    SchedulerConfig config_;
    KvManager& kv_;
    std::unordered_map<uint64_t, Sequence> seqs_;
    std::vector<uint64_t> running_;  // best first: the last one is preempted first
    std::deque<uint64_t> waiting_;
    std::vector<uint64_t> finished_;
    PreemptHook preempt_hook_;
    uint64_t arrivals_ = 0;
};

}  // namespace ms::scheduler
