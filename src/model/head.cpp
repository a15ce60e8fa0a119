#include <cmath>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "model/layer_math.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

class Head final : public Unit {
public:
    Head(const gguf::File& f, const HParams& hp)
        : norm_(f32_vector(f, "output_norm.weight", hp.n_embd)),
          classifier_(matrix(f,
                             has_tensor(f, "output.weight") ? "output.weight" : "token_embd.weight",
                             hp.n_embd, hp.n_vocab)),
          eps_(hp.rms_eps),
          softcap_(hp.final_logit_softcap) {}

    std::string name() const override { return "head"; }

    // Only the rows the batch wants logits for go through the (large) classifier.
    void forward(const StepContext& ctx, Activations& x) override {
        const auto& want = ctx.batch.want_logits;
        normed_.resize(ctx.batch.n_logit_rows(), x.cols);
        int64_t out_row = 0;
        for (int64_t i = 0; i < x.rows; ++i)
            if (want[size_t(i)])
                rms_norm(x.row(i), norm_.data(), x.cols, eps_, normed_.row(out_row++));
        x.resize(normed_.rows, classifier_.rows);
        kernels::matmul(classifier_, normed_.data.data(), normed_.rows, x.data.data(), ctx.pool);
        if (softcap_ != 0.0f)
            for (float& logit : x.data) logit = softcap_ * std::tanh(logit / softcap_);
    }

private:
    std::span<const float> norm_;
    kernels::MatView classifier_;
    float eps_;
    float softcap_;  // 0: logits are not capped
    Activations normed_;
};

}  // namespace

std::unique_ptr<Unit> make_head(const gguf::File& f, const HParams& hp) {
    return std::make_unique<Head>(f, hp);
}

}  // namespace ms::model
