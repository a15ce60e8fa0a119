#include "gguf/gguf.h"
#include "model/layer_math.h"
#include "model/swiglu.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

class FeedForward final : public Unit {
public:
    FeedForward(const gguf::File& f, const HParams& hp, int64_t layer, const FfnSpec& spec)
        : prefix_("blk." + std::to_string(layer) + "."),
          norm_(f32_vector(f, prefix_ + "ffn_norm.weight", hp.n_embd)),
          block_{matrix(f, prefix_ + "ffn_gate.weight", hp.n_embd, hp.n_ff),
                 matrix(f, prefix_ + "ffn_up.weight", hp.n_embd, hp.n_ff),
                 matrix(f, prefix_ + "ffn_down.weight", hp.n_ff, hp.n_embd), spec.activation},
          eps_(hp.rms_eps) {
        if (spec.post_norm) post_norm_ = f32_vector(f, prefix_ + "post_ffw_norm.weight", hp.n_embd);
    }

    std::string name() const override { return prefix_ + "ffn"; }

    void forward(const StepContext& ctx, Activations& x) override {
        rms_norm_rows(x, norm_.data(), eps_, normed_);
        out_.resize(x.rows, x.cols);
        block_.forward(normed_.data.data(), x.rows, out_.data.data(), ctx.pool, gate_, up_);
        if (!post_norm_.empty()) rms_norm_rows_in_place(out_, post_norm_.data(), eps_);
        for (size_t i = 0; i < x.data.size(); ++i) x.data[i] += out_.data[i];
    }

private:
    std::string prefix_;
    std::span<const float> norm_;
    std::span<const float> post_norm_;  // empty when the layer has none
    SwiGlu block_;
    float eps_;
    Activations normed_, gate_, up_, out_;
};

}  // namespace

std::unique_ptr<Unit> make_ffn(const gguf::File& f, const HParams& hp, int64_t layer,
                               const FfnSpec& spec) {
    return std::make_unique<FeedForward>(f, hp, layer, spec);
}

}  // namespace ms::model
