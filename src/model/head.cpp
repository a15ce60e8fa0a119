#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "model/layer_math.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

class Head final : public Unit {
public:
    Head(const gguf::File& f, const HParams& hp, int64_t first_row, int64_t rows)
        : norm_(f32_vector(f, "output_norm.weight", hp.n_embd)),
          classifier_(matrix(f,
                             has_tensor(f, "output.weight") ? "output.weight" : "token_embd.weight",
                             hp.n_embd, hp.n_vocab)),
          eps_(hp.rms_eps),
          softcap_(hp.final_logit_softcap) {
        if (first_row < 0 || rows < 1 || first_row + rows > classifier_.rows)
            throw std::invalid_argument("head: rows " + std::to_string(first_row) + " + " +
                                        std::to_string(rows) + " are outside the vocabulary of " +
                                        std::to_string(classifier_.rows));
        classifier_ = rows_of(classifier_, first_row, rows);
    }

    std::string name() const override { return "head"; }

    // Only the rows the batch wants logits for go through the (large) classifier.
    void forward(const StepContext& ctx, Activations& x) override {
        // Buffers are the call's own: another DP group may run the head while this call yields.
        const auto& want = ctx.batch.want_logits;
        Activations normed;
        normed.resize(ctx.batch.n_logit_rows(), x.cols);
        int64_t out_row = 0;
        for (int64_t i = 0; i < x.rows; ++i)
            if (want[size_t(i)])
                rms_norm(x.row(i), norm_.data(), x.cols, eps_, normed.row(out_row++));
        x.resize(normed.rows, classifier_.rows);
        if (ctx.turn)
            classify_yielding(ctx, normed, x);
        else
            kernels::matmul(classifier_, normed.data.data(), normed.rows, x.data.data(), ctx.pool);
        if (softcap_ != 0.0f)
            for (float& logit : x.data) logit = softcap_ * std::tanh(logit / softcap_);
    }

private:
    // Slices of the vocabulary in turn, yielding the front end between them (the head is the
    // longest piece of a step). Each logit is the same dot product as in one matmul.
    void classify_yielding(const StepContext& ctx, const Activations& normed,
                           Activations& x) const {
        Activations slice_logits;
        for (int64_t first = 0; first < classifier_.rows; first += kYieldRows) {
            const kernels::MatView slice =
                rows_of(classifier_, first, std::min(kYieldRows, classifier_.rows - first));
            slice_logits.resize(x.rows, slice.rows);
            kernels::matmul(slice, normed.data.data(), normed.rows, slice_logits.data.data(),
                            ctx.pool);
            for (int64_t t = 0; t < x.rows; ++t)
                std::copy_n(slice_logits.row(t), slice.rows, x.row(t) + first);
            ctx.turn->yield(false);
        }
    }

    static kernels::MatView rows_of(kernels::MatView m, int64_t first, int64_t rows) {
        m.data = static_cast<const char*>(m.data) + first * row_bytes(m.type, m.cols);
        m.rows = rows;
        return m;
    }

    static constexpr int64_t kYieldRows = 4096;
    std::span<const float> norm_;
    kernels::MatView classifier_;
    float eps_;
    float softcap_;  // 0: logits are not capped
};

}  // namespace

std::unique_ptr<Unit> make_head(const gguf::File& f, const HParams& hp) {
    return std::make_unique<Head>(f, hp, 0, hp.n_vocab);
}

std::unique_ptr<Unit> make_head_rows(const gguf::File& f, const HParams& hp, int64_t first_row,
                                     int64_t rows) {
    return std::make_unique<Head>(f, hp, first_row, rows);
}

}  // namespace ms::model
