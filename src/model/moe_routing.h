// How a mixture-of-experts layer picks experts for a token and weighs their outputs: a small
// policy each architecture's builder chooses (Mixtral, Qwen-MoE, DeepSeek-V2 and -V3 differ
// only here). Kept apart from the expert execution so it can be tested and, later, run on the
// node that dispatches tokens to expert-parallel workers.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace ms::model {

struct RoutingPolicy {
    enum class Score { Softmax, Sigmoid };  // router logits -> per-expert scores

    Score score = Score::Softmax;
    int64_t n_expert = 0;
    int64_t n_used = 0;  // experts chosen per token
    // Group-limited top-k (DeepSeek): experts form n_groups equal groups; a group's strength
    // is the sum of its two best selection scores, and only the n_groups_used strongest groups
    // may supply experts. n_groups <= 1 means no grouping.
    int64_t n_groups = 1;
    int64_t n_groups_used = 1;
    bool normalize = false;  // chosen weights divided by their sum
    float scale = 1.0f;      // chosen weights multiplied by it (DeepSeek's routed_scaling_factor)

    // Throws std::runtime_error naming the inconsistent setting.
    void validate() const;
};

struct ExpertChoice {
    int64_t expert;
    float weight;
};

// Applies a policy token by token; holds scratch space, so one Router per thread.
class Router {
public:
    explicit Router(const RoutingPolicy& policy);  // validates the policy

    const RoutingPolicy& policy() const { return policy_; }

    // Chooses policy.n_used experts for one token from its router logits (n_expert values).
    // selection_bias (empty, or n_expert values: DeepSeek-V3's score-correction bias) is added
    // to the scores only to choose experts; the weights come from the unbiased scores. The
    // result, best first, stays valid until the next call.
    std::span<const ExpertChoice> choose(std::span<const float> logits,
                                         std::span<const float> selection_bias = {});

private:
    void keep_strongest_groups();

    RoutingPolicy policy_;
    std::vector<float> scores_, selection_, group_strength_;
    std::vector<int64_t> order_, group_order_;
    std::vector<ExpertChoice> chosen_;
};

}  // namespace ms::model
