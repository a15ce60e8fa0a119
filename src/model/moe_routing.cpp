#include "model/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "model/layer_math.h"

namespace ms::model {
namespace {

void require(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("model: expert routing: " + what);
}

// Indices of the k largest values, largest first.
void top_k(std::span<const float> values, int64_t k, std::vector<int64_t>& order) {
    order.resize(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int64_t a, int64_t b) { return values[size_t(a)] > values[size_t(b)]; });
    order.resize(size_t(k));
}

// Below this the sum of chosen weights is treated as this (llama.cpp clamps to the smallest
// normal F16, so a token whose chosen scores all vanish gets small weights, not NaN).
constexpr float kMinWeightSum = 6.103515625e-5f;

}  // namespace

void RoutingPolicy::validate() const {
    require(n_expert > 0, "expert_count must be positive");
    require(n_used > 0 && n_used <= n_expert, "expert_used_count must be in 1..expert_count");
    if (n_groups <= 1) return;
    require(n_expert % n_groups == 0, "expert_count must be a multiple of expert_group_count");
    require(n_groups_used > 0 && n_groups_used < n_groups,
            "expert_group_used_count must be in 1..expert_group_count-1");
    require(n_used <= n_groups_used * (n_expert / n_groups),
            "expert_used_count exceeds the experts in the groups used");
}

Router::Router(const RoutingPolicy& policy) : policy_(policy) {
    policy_.validate();
}

std::span<const ExpertChoice> Router::choose(std::span<const float> logits,
                                             std::span<const float> selection_bias) {
    const size_t n = size_t(policy_.n_expert);
    if (logits.size() != n || (!selection_bias.empty() && selection_bias.size() != n))
        throw std::invalid_argument("model: expert routing: need one logit (and bias) per expert");
    scores_.assign(logits.begin(), logits.end());
    if (policy_.score == RoutingPolicy::Score::Softmax)
        softmax(scores_.data(), int64_t(n));
    else
        for (float& s : scores_) s = 1.0f / (1.0f + std::exp(-s));
    selection_ = scores_;
    for (size_t e = 0; e < selection_bias.size(); ++e) selection_[e] += selection_bias[e];
    if (policy_.n_groups > 1) keep_strongest_groups();

    top_k(selection_, policy_.n_used, order_);
    chosen_.clear();
    float sum = 0.0f;
    for (int64_t e : order_) {
        chosen_.push_back({e, scores_[size_t(e)]});
        sum += scores_[size_t(e)];
    }
    const float factor = policy_.scale / (policy_.normalize ? std::max(sum, kMinWeightSum) : 1.0f);
    for (auto& choice : chosen_) choice.weight *= factor;
    return chosen_;
}

// Sets the selection scores of every expert outside the n_groups_used strongest groups to
// -inf, so top-k cannot pick them.
void Router::keep_strongest_groups() {
    const int64_t per_group = policy_.n_expert / policy_.n_groups;
    const int64_t best_of = std::min<int64_t>(2, per_group);
    group_strength_.resize(size_t(policy_.n_groups));
    for (int64_t g = 0; g < policy_.n_groups; ++g) {
        const std::span<const float> members(selection_.data() + g * per_group, size_t(per_group));
        top_k(members, best_of, group_order_);
        float strength = 0.0f;
        for (int64_t i : group_order_) strength += members[size_t(i)];
        group_strength_[size_t(g)] = strength;
    }
    top_k(group_strength_, policy_.n_groups_used, group_order_);
    const float dropped = -std::numeric_limits<float>::infinity();
    for (int64_t g : group_order_) group_strength_[size_t(g)] = -dropped;  // marks the kept
    for (int64_t g = 0; g < policy_.n_groups; ++g)
        if (group_strength_[size_t(g)] != -dropped)
            std::fill_n(selection_.begin() + g * per_group, per_group, dropped);
}

}  // namespace ms::model
