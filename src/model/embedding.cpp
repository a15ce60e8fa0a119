#include <stdexcept>

#include "gguf/gguf.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

class Embedding final : public Unit {
public:
    Embedding(const gguf::File& f, const HParams& hp, float row_scale)
        : table_(matrix(f, "token_embd.weight", hp.n_embd, hp.n_vocab)), row_scale_(row_scale) {}

    std::string name() const override { return "embed"; }

    void forward(const StepContext& ctx, Activations& x) override {
        const auto& tokens = ctx.batch.tokens;
        x.resize(int64_t(tokens.size()), table_.cols);
        const int64_t stride = row_bytes(table_.type, table_.cols);
        const auto* base = static_cast<const uint8_t*>(table_.data);
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (tokens[i] < 0 || tokens[i] >= table_.rows)
                throw std::out_of_range("embed: token id " + std::to_string(tokens[i]) +
                                        " outside the vocabulary of " +
                                        std::to_string(table_.rows));
            float* row = x.row(int64_t(i));
            kernels::dequantize_row(table_.type, base + tokens[i] * stride, row, table_.cols);
            if (row_scale_ != 1.0f)
                for (int64_t c = 0; c < table_.cols; ++c) row[c] *= row_scale_;
        }
    }

private:
    kernels::MatView table_;
    float row_scale_;
};

}  // namespace

std::unique_ptr<Unit> make_embedding(const gguf::File& f, const HParams& hp, float row_scale) {
    return std::make_unique<Embedding>(f, hp, row_scale);
}

}  // namespace ms::model
