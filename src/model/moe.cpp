#include <algorithm>
#include <cmath>
#include <optional>

#include "gguf/gguf.h"
#include "model/layer_math.h"
#include "model/moe_routing.h"
#include "model/swiglu.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

// Token `token` sends its normalised row to an expert as its slot-th choice.
struct Route {
    int64_t token;
    int64_t slot;
    float weight;
};

// The shared expert: every token goes through it, optionally scaled by a sigmoid gate.
struct SharedExpert {
    SwiGlu block;
    std::span<const float> gate;  // empty: weight 1

    // sigmoid(l) computed as silu(l) / l, the way llama.cpp does, to round alike.
    float weight(const float* x) const {
        if (gate.empty()) return 1.0f;
        float logit = 0.0f;
        for (size_t i = 0; i < gate.size(); ++i) logit += gate[i] * x[i];
        return logit / (1.0f + std::exp(-logit)) / logit;
    }
};

// Pre-norm mixture of SwiGLU experts. The router policy picks experts per token; the experts
// then run grouped: each expert multiplies all of its tokens at once, the shape the
// expert-parallel runtime dispatches. Weighted outputs land in per-(token, slot) rows and are
// summed in slot order, then the shared expert's, then the residual: llama.cpp's order, so
// results round alike.
class MixtureOfExperts final : public Unit {
public:
    MixtureOfExperts(const gguf::File& f, const HParams& hp, int64_t layer, const MoeSpec& spec)
        : prefix_("blk." + std::to_string(layer) + "."),
          norm_(f32_vector(f, prefix_ + "ffn_norm.weight", hp.n_embd)),
          router_weights_(matrix(f, prefix_ + "ffn_gate_inp.weight", hp.n_embd, hp.n_expert)),
          router_(spec.routing),
          eps_(hp.rms_eps) {
        // DeepSeek-V3's score-correction bias; absent in the other models.
        if (has_tensor(f, prefix_ + "exp_probs_b.bias"))
            selection_bias_ = f32_vector(f, prefix_ + "exp_probs_b.bias", hp.n_expert);
        for (int64_t e = 0; e < hp.n_expert; ++e) {
            auto stacked = [&](const char* what, int64_t cols, int64_t rows) {
                return stacked_matrix(f, prefix_ + what, cols, rows, hp.n_expert, e);
            };
            experts_.push_back({stacked("ffn_gate_exps.weight", hp.n_embd, spec.n_ff_expert),
                                stacked("ffn_up_exps.weight", hp.n_embd, spec.n_ff_expert),
                                stacked("ffn_down_exps.weight", spec.n_ff_expert, hp.n_embd)});
        }
        if (spec.shared != MoeSpec::Shared::None) load_shared(f, hp, spec);
    }

    std::string name() const override { return prefix_ + "moe"; }

    void forward(const StepContext& ctx, Activations& x) override {
        rms_norm_rows(x, norm_.data(), eps_, normed_);
        route(ctx, x.rows);
        slot_out_.resize(x.rows * router_.policy().n_used, x.cols);
        for (size_t e = 0; e < experts_.size(); ++e) run_expert(ctx, e);
        if (shared_) run_shared(ctx);
        combine(x);
    }

private:
    void load_shared(const gguf::File& f, const HParams& hp, const MoeSpec& spec) {
        shared_ = SharedExpert{
            {matrix(f, prefix_ + "ffn_gate_shexp.weight", hp.n_embd, spec.n_ff_shared),
             matrix(f, prefix_ + "ffn_up_shexp.weight", hp.n_embd, spec.n_ff_shared),
             matrix(f, prefix_ + "ffn_down_shexp.weight", spec.n_ff_shared, hp.n_embd)},
            {}};
        if (spec.shared == MoeSpec::Shared::SigmoidGated)
            shared_->gate = f32_vector(f, prefix_ + "ffn_gate_inp_shexp.weight", hp.n_embd);
    }

    void route(const StepContext& ctx, int64_t n_tokens) {
        const int64_t n_expert = int64_t(experts_.size());
        logits_.resize(n_tokens, n_expert);
        kernels::matmul(router_weights_, normed_.data.data(), n_tokens, logits_.data.data(),
                        ctx.pool);
        routes_.assign(experts_.size(), {});
        for (int64_t t = 0; t < n_tokens; ++t) {
            const auto chosen = router_.choose({logits_.row(t), size_t(n_expert)}, selection_bias_);
            for (size_t slot = 0; slot < chosen.size(); ++slot)
                routes_[size_t(chosen[slot].expert)].push_back(
                    {t, int64_t(slot), chosen[slot].weight});
        }
    }

    void run_expert(const StepContext& ctx, size_t e) {
        const auto& routes = routes_[e];
        if (routes.empty()) return;
        const int64_t n = int64_t(routes.size()), cols = normed_.cols;
        gathered_.resize(n, cols);
        for (int64_t i = 0; i < n; ++i)
            std::copy_n(normed_.row(routes[size_t(i)].token), cols, gathered_.row(i));
        expert_out_.resize(n, cols);
        experts_[e].forward(gathered_.data.data(), n, expert_out_.data.data(), ctx.pool, gate_,
                            up_);
        const int64_t n_used = router_.policy().n_used;
        for (int64_t i = 0; i < n; ++i) {
            const Route& r = routes[size_t(i)];
            scale_into(expert_out_.row(i), r.weight, slot_out_.row(r.token * n_used + r.slot),
                       cols);
        }
    }

    void run_shared(const StepContext& ctx) {
        shared_out_.resize(normed_.rows, normed_.cols);
        shared_->block.forward(normed_.data.data(), normed_.rows, shared_out_.data.data(), ctx.pool,
                               gate_, up_);
        if (shared_->gate.empty()) return;
        for (int64_t t = 0; t < normed_.rows; ++t)
            scale_into(shared_out_.row(t), shared_->weight(normed_.row(t)), shared_out_.row(t),
                       normed_.cols);
    }

    // x += sum over slots (+ shared expert), per token.
    void combine(Activations& x) const {
        const int64_t n_used = router_.policy().n_used;
        std::vector<float> sum(size_t(x.cols));
        for (int64_t t = 0; t < x.rows; ++t) {
            std::copy_n(slot_out_.row(t * n_used), x.cols, sum.begin());
            for (int64_t k = 1; k < n_used; ++k)
                add_into(slot_out_.row(t * n_used + k), sum.data(), x.cols);
            if (shared_) add_into(shared_out_.row(t), sum.data(), x.cols);
            add_into(sum.data(), x.row(t), x.cols);
        }
    }

    static void scale_into(const float* src, float w, float* dst, int64_t n) {
        for (int64_t c = 0; c < n; ++c) dst[c] = w * src[c];
    }
    static void add_into(const float* src, float* dst, int64_t n) {
        for (int64_t c = 0; c < n; ++c) dst[c] += src[c];
    }

    std::string prefix_;
    std::span<const float> norm_;
    kernels::MatView router_weights_;
    std::span<const float> selection_bias_;
    Router router_;
    std::vector<SwiGlu> experts_;
    std::optional<SharedExpert> shared_;
    float eps_;
    std::vector<std::vector<Route>> routes_;  // per expert: the tokens sent to it
    Activations normed_, logits_, gathered_, expert_out_, slot_out_, shared_out_, gate_, up_;
};

}  // namespace

std::unique_ptr<Unit> make_moe(const gguf::File& f, const HParams& hp, int64_t layer,
                               const MoeSpec& spec) {
    return std::make_unique<MixtureOfExperts>(f, hp, layer, spec);
}

}  // namespace ms::model
