#include <algorithm>
#include <numeric>

#include "gguf/gguf.h"
#include "model/layer_math.h"
#include "model/swiglu.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

struct Route {
    int64_t token;
    float weight;
};

// Mixtral-style: softmax over router logits, top-k, weights renormalised to sum to 1.
// Experts run grouped: each expert multiplies all of its tokens at once, the shape the
// expert-parallel runtime dispatches.
class MixtureOfExperts final : public Unit {
public:
    MixtureOfExperts(const gguf::File& f, const HParams& hp, int64_t layer)
        : prefix_("blk." + std::to_string(layer) + "."),
          norm_(f32_vector(f, prefix_ + "ffn_norm.weight", hp.n_embd)),
          router_(matrix(f, prefix_ + "ffn_gate_inp.weight", hp.n_embd, hp.n_expert)),
          n_used_(hp.n_expert_used),
          eps_(hp.rms_eps) {
        for (int64_t e = 0; e < hp.n_expert; ++e) {
            auto stacked = [&](const char* what, int64_t cols, int64_t rows) {
                return stacked_matrix(f, prefix_ + what, cols, rows, hp.n_expert, e);
            };
            experts_.push_back({stacked("ffn_gate_exps.weight", hp.n_embd, hp.n_ff),
                                stacked("ffn_up_exps.weight", hp.n_embd, hp.n_ff),
                                stacked("ffn_down_exps.weight", hp.n_ff, hp.n_embd)});
        }
    }

    std::string name() const override { return prefix_ + "moe"; }

    void forward(const StepContext& ctx, Activations& x) override {
        rms_norm_rows(x, norm_.data(), eps_, normed_);
        route(ctx, x.rows);
        for (size_t e = 0; e < experts_.size(); ++e) run_expert(ctx, e, x);
    }

private:
    void route(const StepContext& ctx, int64_t n_tokens) {
        const int64_t n_expert = int64_t(experts_.size());
        logits_.resize(n_tokens, n_expert);
        kernels::matmul(router_, normed_.data.data(), n_tokens, logits_.data.data(), ctx.pool);
        routes_.assign(experts_.size(), {});
        std::vector<int64_t> order(static_cast<size_t>(n_expert));
        for (int64_t t = 0; t < n_tokens; ++t) {
            float* probs = logits_.row(t);
            softmax(probs, n_expert);
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(order.begin(), order.begin() + n_used_, order.end(),
                              [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
            float chosen_sum = 0.0f;
            for (int64_t k = 0; k < n_used_; ++k) chosen_sum += probs[order[size_t(k)]];
            for (int64_t k = 0; k < n_used_; ++k) {
                const int64_t e = order[size_t(k)];
                routes_[size_t(e)].push_back({t, probs[e] / chosen_sum});
            }
        }
    }

    void run_expert(const StepContext& ctx, size_t e, Activations& x) {
        const auto& routes = routes_[e];
        if (routes.empty()) return;
        const int64_t n = int64_t(routes.size());
        gathered_.resize(n, x.cols);
        for (int64_t i = 0; i < n; ++i)
            std::copy_n(normed_.row(routes[size_t(i)].token), x.cols, gathered_.row(i));
        expert_out_.resize(n, x.cols);
        experts_[e].forward(gathered_.data.data(), n, expert_out_.data.data(), ctx.pool, gate_,
                            up_);
        for (int64_t i = 0; i < n; ++i) {
            float* dst = x.row(routes[size_t(i)].token);
            const float* src = expert_out_.row(i);
            const float w = routes[size_t(i)].weight;
            for (int64_t c = 0; c < x.cols; ++c) dst[c] += w * src[c];
        }
    }

    std::string prefix_;
    std::span<const float> norm_;
    kernels::MatView router_;
    std::vector<SwiGlu> experts_;
    int64_t n_used_;
    float eps_;
    std::vector<std::vector<Route>> routes_;  // per expert: the tokens sent to it
    Activations normed_, logits_, gathered_, expert_out_, gate_, up_;
};

}  // namespace

std::unique_ptr<Unit> make_moe(const gguf::File& f, const HParams& hp, int64_t layer) {
    return std::make_unique<MixtureOfExperts>(f, hp, layer);
}

}  // namespace ms::model
