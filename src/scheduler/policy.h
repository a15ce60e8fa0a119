// Batch forming: which requests of one data-parallel group run in the next step. The serving
// engine and the simulator both call a BatchPolicy, so a policy tested in simulation is the
// policy that serves.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ms::scheduler {

// What a policy may know about a request: its prompt and how many of its tokens already have
// KV entries (prompt tokens prefilled so far, plus tokens generated).
struct SequenceState {
    uint32_t id = 0;
    int32_t prompt_tokens = 0;
    int32_t computed_tokens = 0;
    int32_t max_new_tokens = 0;  // reserve KV for this many generated tokens

    bool decoding() const { return computed_tokens >= prompt_tokens; }
};

struct StepLimits {
    int32_t token_budget = 8192;             // tokens computed in one step, over all sequences
    int32_t max_running = 256;               // sequences holding KV at once
    int32_t decode_tokens_per_seq = 1;       // 1 + speculative draft tokens verified per step
    int64_t kv_capacity_tokens = INT64_MAX;  // KV entries the group can hold
};

// tokens[i] is what running[i] computes this step (0: skipped). The first `admitted` waiting
// sequences join the running set, computing admitted_tokens[j] tokens each.
struct StepPlan {
    std::vector<int32_t> tokens;
    std::vector<int32_t> admitted_tokens;
    int32_t total_tokens = 0;

    int32_t admitted() const { return static_cast<int32_t>(admitted_tokens.size()); }
};

class BatchPolicy {
public:
    virtual ~BatchPolicy() = default;
    // running: sequences holding KV; waiting: queued in arrival order (never reordered).
    virtual void plan_step(std::span<const SequenceState> running,
                           std::span<const SequenceState> waiting, const StepLimits& limits,
                           StepPlan& plan) const = 0;
};

// Continuous batching with chunked prefill: decodes first (they hold KV and a user waits per
// token), then unfinished prompt chunks, then new requests in arrival order while the token
// budget, the running limit and the KV reservation allow.
std::unique_ptr<BatchPolicy> make_continuous_batching();

}  // namespace ms::scheduler
