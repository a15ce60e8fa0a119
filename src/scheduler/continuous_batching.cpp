#include <algorithm>

#include "scheduler/policy.h"

namespace ms::scheduler {
namespace {

int64_t kv_reservation(const SequenceState& s) {
    return int64_t{s.prompt_tokens} + s.max_new_tokens;
}

class ContinuousBatching final : public BatchPolicy {
public:
    void plan_step(std::span<const SequenceState> running, std::span<const SequenceState> waiting,
                   const StepLimits& limits, StepPlan& plan) const override {
        plan.tokens.assign(running.size(), 0);
        plan.admitted_tokens.clear();
        int32_t budget = limits.token_budget;
        int64_t kv_reserved = 0;
        for (size_t i = 0; i < running.size(); ++i) {
            kv_reserved += kv_reservation(running[i]);
            if (!running[i].decoding()) continue;
            const int32_t n = std::min(limits.decode_tokens_per_seq, budget);
            plan.tokens[i] = n;
            budget -= n;
        }
        for (size_t i = 0; i < running.size() && budget > 0; ++i) {
            if (running[i].decoding()) continue;
            plan.tokens[i] =
                std::min(running[i].prompt_tokens - running[i].computed_tokens, budget);
            budget -= plan.tokens[i];
        }
        auto free_slots = limits.max_running - static_cast<int32_t>(running.size());
        for (const SequenceState& s : waiting) {
            if (budget <= 0 || free_slots <= 0) break;
            if (kv_reserved + kv_reservation(s) > limits.kv_capacity_tokens) break;
            const int32_t n =
                s.decoding() ? limits.decode_tokens_per_seq : s.prompt_tokens - s.computed_tokens;
            plan.admitted_tokens.push_back(std::min(n, budget));
            budget -= plan.admitted_tokens.back();
            kv_reserved += kv_reservation(s);
            --free_slots;
        }
        plan.total_tokens = limits.token_budget - budget;
    }
};

}  // namespace

std::unique_ptr<BatchPolicy> make_continuous_batching() {
    return std::make_unique<ContinuousBatching>();
}

}  // namespace ms::scheduler
