#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "gguf/gguf.h"
#include "model/layer_math.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

void scale_into(const float* src, float w, float* dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] = w * src[c];
}
void add_into(const float* src, float* dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] += src[c];
}

std::string layer_prefix(int64_t layer) {
    return "blk." + std::to_string(layer) + ".";
}

}  // namespace

// sigmoid(l) computed as silu(l) / l, the way llama.cpp does, to round alike.
float SharedExpert::weight(const float* x) const {
    if (gate.empty()) return 1.0f;
    float logit = 0.0f;
    for (size_t i = 0; i < gate.size(); ++i) logit += gate[i] * x[i];
    return logit / (1.0f + std::exp(-logit)) / logit;
}

MoeRouter::MoeRouter(const gguf::File& f, const HParams& hp, int64_t layer, const MoeSpec& spec)
    : layer_(layer),
      norm_(f32_vector(f, layer_prefix(layer) + "ffn_norm.weight", hp.n_embd)),
      router_weights_(
          matrix(f, layer_prefix(layer) + "ffn_gate_inp.weight", hp.n_embd, hp.n_expert)),
      router_(spec.routing),
      eps_(hp.rms_eps) {
    const std::string prefix = layer_prefix(layer);
    // DeepSeek-V3's score-correction bias; absent in the other models.
    if (has_tensor(f, prefix + "exp_probs_b.bias"))
        selection_bias_ = f32_vector(f, prefix + "exp_probs_b.bias", hp.n_expert);
    if (spec.shared == MoeSpec::Shared::None) return;
    shared_ =
        SharedExpert{{matrix(f, prefix + "ffn_gate_shexp.weight", hp.n_embd, spec.n_ff_shared),
                      matrix(f, prefix + "ffn_up_shexp.weight", hp.n_embd, spec.n_ff_shared),
                      matrix(f, prefix + "ffn_down_shexp.weight", spec.n_ff_shared, hp.n_embd)},
                     {}};
    if (spec.shared == MoeSpec::Shared::SigmoidGated)
        shared_->gate = f32_vector(f, prefix + "ffn_gate_inp_shexp.weight", hp.n_embd);
}

void MoeRouter::route(const StepContext& ctx, const Activations& x) {
    rms_norm_rows(x, norm_.data(), eps_, normed_);
    const int64_t n_tokens = x.rows, n_expert = this->n_expert();
    logits_.resize(n_tokens, n_expert);
    kernels::matmul(router_weights_, normed_.data.data(), n_tokens, logits_.data.data(), ctx.pool);
    choices_.clear();
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto chosen = router_.choose({logits_.row(t), size_t(n_expert)}, selection_bias_);
        choices_.insert(choices_.end(), chosen.begin(), chosen.end());
    }
    if (observer_) observer_->observe(layer_, choices_);
}

void MoeRouter::run_shared(const StepContext& ctx) {
    if (!shared_) return;
    shared_out_.resize(normed_.rows, normed_.cols);
    shared_->block.forward(normed_.data.data(), normed_.rows, shared_out_.data.data(), ctx.pool,
                           gate_, up_);
    if (shared_->gate.empty()) return;
    for (int64_t t = 0; t < normed_.rows; ++t)
        scale_into(shared_out_.row(t), shared_->weight(normed_.row(t)), shared_out_.row(t),
                   normed_.cols);
}

void MoeRouter::add_output(const Activations& routed_sum, Activations& x) const {
    std::vector<float> sum(size_t(x.cols));
    for (int64_t t = 0; t < x.rows; ++t) {
        std::copy_n(routed_sum.row(t), x.cols, sum.begin());
        if (shared_) add_into(shared_out_.row(t), sum.data(), x.cols);
        add_into(sum.data(), x.row(t), x.cols);
    }
}

ExpertBank::ExpertBank(ExpertSource source, const std::vector<int>& experts)
    : source_(std::move(source)) {
    for (int e : experts) load(e);
}

std::vector<int> ExpertBank::experts() const {
    std::vector<int> ids;
    for (const auto& [e, block] : experts_) ids.push_back(e);
    return ids;
}

void ExpertBank::load(int expert) {
    if (expert < 0 || expert >= source_.n_expert)
        throw std::runtime_error(source_.prefix + "moe has no expert " + std::to_string(expert) +
                                 " (it has " + std::to_string(source_.n_expert) + ")");
    auto stacked = [&](const char* what, int64_t cols, int64_t rows) {
        return stacked_matrix(*source_.file, source_.prefix + what, cols, rows, source_.n_expert,
                              expert);
    };
    experts_.insert_or_assign(
        expert, SwiGlu{stacked("ffn_gate_exps.weight", source_.n_embd, source_.n_ff),
                       stacked("ffn_up_exps.weight", source_.n_embd, source_.n_ff),
                       stacked("ffn_down_exps.weight", source_.n_ff, source_.n_embd)});
}

void ExpertBank::unload(int expert) {
    experts_.erase(expert);
}

void ExpertBank::run(int expert, const float* rows, int64_t n, float* out, ThreadPool* pool) {
    const auto it = experts_.find(expert);
    if (it == experts_.end())
        throw std::runtime_error(source_.prefix + "moe: expert " + std::to_string(expert) +
                                 " is not held here");
    it->second.forward(rows, n, out, pool, gate_, up_);
}

// Each expert multiplies all of its tokens at once; weighted outputs land in per-(token, slot)
// rows and are summed in slot order.
void LocalExperts::run(const MoeRouter& router, ExpertBank& bank, ThreadPool* pool,
                       Activations& routed_sum) {
    const Activations& normed = router.normed();
    const auto choices = router.choices();
    const int64_t n_used = router.n_used(), cols = normed.cols;
    routes_.assign(size_t(router.n_expert()), {});
    for (size_t i = 0; i < choices.size(); ++i)
        routes_[size_t(choices[i].expert)].push_back(
            {int64_t(i) / n_used, int64_t(i) % n_used, choices[i].weight});
    slot_out_.resize(normed.rows * n_used, cols);
    for (size_t e = 0; e < routes_.size(); ++e) {
        const auto& routes = routes_[e];
        if (routes.empty()) continue;
        const int64_t n = int64_t(routes.size());
        gathered_.resize(n, cols);
        for (int64_t i = 0; i < n; ++i)
            std::copy_n(normed.row(routes[size_t(i)].token), cols, gathered_.row(i));
        expert_out_.resize(n, cols);
        bank.run(int(e), gathered_.data.data(), n, expert_out_.data.data(), pool);
        for (int64_t i = 0; i < n; ++i) {
            const Route& r = routes[size_t(i)];
            scale_into(expert_out_.row(i), r.weight, slot_out_.row(r.token * n_used + r.slot),
                       cols);
        }
    }
    routed_sum.resize(normed.rows, cols);
    for (int64_t t = 0; t < normed.rows; ++t) {
        std::copy_n(slot_out_.row(t * n_used), cols, routed_sum.row(t));
        for (int64_t k = 1; k < n_used; ++k)
            add_into(slot_out_.row(t * n_used + k), routed_sum.row(t), cols);
    }
}

namespace {

std::vector<int> every_expert(int64_t n_expert) {
    std::vector<int> ids(static_cast<size_t>(n_expert));
    std::iota(ids.begin(), ids.end(), 0);
    return ids;
}

}  // namespace

MoeLayer::MoeLayer(const gguf::File& f, const HParams& hp, int64_t layer, const MoeSpec& spec)
    : prefix_(layer_prefix(layer)),
      layer_(layer),
      router_(f, hp, layer, spec),
      experts_({&f, prefix_, hp.n_embd, spec.n_ff_expert, hp.n_expert}, every_expert(hp.n_expert)) {
}

// llama.cpp's order, so results round alike: the routed experts' weighted outputs in slot order,
// then the shared expert's, then the residual.
void MoeLayer::forward(const StepContext& ctx, Activations& x) {
    router_.route(ctx, x);
    local_.run(router_, experts_, ctx.pool, routed_sum_);
    router_.run_shared(ctx);
    router_.add_output(routed_sum_, x);
}

std::unique_ptr<Unit> make_moe(const gguf::File& f, const HParams& hp, int64_t layer,
                               const MoeSpec& spec) {
    return std::make_unique<MoeLayer>(f, hp, layer, spec);
}

}  // namespace ms::model
