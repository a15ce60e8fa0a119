#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace ms::engine {
namespace {

void check(bool ok, const char* name, const char* range) {
    if (!ok) throw std::invalid_argument(std::string(name) + " must be " + range);
}

}  // namespace

void SamplingParams::validate() const {
    check(std::isfinite(temperature) && temperature >= 0.0f && temperature <= 100.0f, "temperature",
          "in [0, 100]");
    check(top_k >= 0, "top_k", ">= 0");
    check(top_p > 0.0f && top_p <= 1.0f, "top_p", "in (0, 1]");
    check(min_p >= 0.0f && min_p <= 1.0f, "min_p", "in [0, 1]");
    check(repetition_penalty > 0.0f && repetition_penalty <= 10.0f, "repetition_penalty",
          "in (0, 10]");
    check(presence_penalty >= -2.0f && presence_penalty <= 2.0f, "presence_penalty", "in [-2, 2]");
    check(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f, "frequency_penalty",
          "in [-2, 2]");
    check(penalty_last_n >= 0, "penalty_last_n", ">= 0");
    for (const auto& [id, bias] : logit_bias)
        check(id >= 0 && bias >= -100.0f && bias <= 100.0f, "logit_bias",
              "token ids >= 0 with biases in [-100, 100]");
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
    params_.validate();
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    candidates_.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {int32_t(i), logits[i]};
    apply_logit_bias();
    apply_penalties(history);
    if (params_.temperature <= 0.0f) {
        return std::max_element(
                   candidates_.begin(), candidates_.end(),
                   [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; })
            ->id;
    }
    keep_top_k();
    keep_top_p();
    keep_min_p();
    return draw();
}

void Sampler::apply_logit_bias() {
    for (const auto& [id, bias] : params_.logit_bias)
        if (size_t(id) < candidates_.size()) candidates_[size_t(id)].logit += bias;
}

void Sampler::apply_penalties(std::span<const int32_t> history) {
    const bool off = params_.repetition_penalty == 1.0f && params_.presence_penalty == 0.0f &&
                     params_.frequency_penalty == 0.0f;
    if (off || params_.penalty_last_n == 0) return;
    const size_t n = std::min(history.size(), size_t(params_.penalty_last_n));
    std::unordered_map<int32_t, int> counts;
    for (size_t i = history.size() - n; i < history.size(); ++i) ++counts[history[i]];
    for (const auto& [id, count] : counts) {
        if (id < 0 || size_t(id) >= candidates_.size()) continue;
        float& logit = candidates_[size_t(id)].logit;
        logit = logit > 0 ? logit / params_.repetition_penalty : logit * params_.repetition_penalty;
        logit -= float(count) * params_.frequency_penalty + params_.presence_penalty;
    }
}

// Leaves candidates_ sorted by descending logit, truncated to top_k when set.
void Sampler::keep_top_k() {
    auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; };
    const size_t k = params_.top_k > 0 ? std::min(size_t(params_.top_k), candidates_.size())
                                       : candidates_.size();
    std::partial_sort(candidates_.begin(), candidates_.begin() + ptrdiff_t(k), candidates_.end(),
                      by_logit);
    candidates_.resize(k);
}

void Sampler::keep_top_p() {
    if (params_.top_p >= 1.0f) return;
    const float max = candidates_.front().logit;
    double total = 0.0;
    for (const auto& c : candidates_) total += std::exp(double(c.logit - max));
    double cumulative = 0.0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        cumulative += std::exp(double(candidates_[i].logit - max)) / total;
        if (cumulative >= params_.top_p) {
            candidates_.resize(i + 1);
            return;
        }
    }
}

void Sampler::keep_min_p() {
    if (params_.min_p <= 0.0f) return;
    // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p)
    const float threshold = candidates_.front().logit + std::log(params_.min_p);
    size_t keep = 1;
    while (keep < candidates_.size() && candidates_[keep].logit >= threshold) ++keep;
    candidates_.resize(keep);
}

int32_t Sampler::draw() {
    const float max = candidates_.front().logit;
    std::vector<double> weights(candidates_.size());
    for (size_t i = 0; i < candidates_.size(); ++i)
        weights[i] = std::exp(double(candidates_[i].logit - max) / params_.temperature);
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    return candidates_[pick(rng_)].id;
}

TokenLogprobs token_logprobs(std::span<const float> logits, int32_t token, int32_t top_n) {
    const size_t n = logits.size();
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (float logit : logits) sum += std::exp(double(logit - max));
    const float log_z = max + float(std::log(sum));
    TokenLogprobs out{logits[size_t(token)] - log_z, {}};
    std::vector<int32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0);
    const size_t k = std::min(n, size_t(std::max(0, top_n)));
    std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(k), ids.end(),
                      [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
    for (size_t i = 0; i < k; ++i) out.top.emplace_back(ids[i], logits[size_t(ids[i])] - log_z);
    return out;
}

}  // namespace ms::engine
