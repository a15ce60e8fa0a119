#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"
#include "model/kv_blocks.h"
#include "model/layer_math.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

class Attention final : public Unit, public KvHolder {
public:
    Attention(const gguf::File& f, const HParams& hp, int64_t layer, const AttentionSpec& spec)
        : prefix_("blk." + std::to_string(layer) + "."),
          hp_(hp),
          spec_(spec),
          norm_(f32_vector(f, prefix_ + "attn_norm.weight", hp.n_embd)),
          wq_(matrix(f, prefix_ + "attn_q.weight", hp.n_embd, hp.n_head * hp.head_dim)),
          wk_(matrix(f, prefix_ + "attn_k.weight", hp.n_embd, hp.n_head_kv * hp.head_dim)),
          wv_(matrix(f, prefix_ + "attn_v.weight", hp.n_embd, hp.n_head_kv * hp.head_dim)),
          wo_(matrix(f, prefix_ + "attn_output.weight", hp.n_head * hp.head_dim, hp.n_embd)) {
        if (spec.qkv_bias) {
            bq_ = f32_vector(f, prefix_ + "attn_q.bias", wq_.rows);
            bk_ = f32_vector(f, prefix_ + "attn_k.bias", wk_.rows);
            bv_ = f32_vector(f, prefix_ + "attn_v.bias", wv_.rows);
        }
        if (spec.qk_norm) {
            q_norm_ = f32_vector(f, prefix_ + "attn_q_norm.weight", hp.head_dim);
            k_norm_ = f32_vector(f, prefix_ + "attn_k_norm.weight", hp.head_dim);
        }
        if (spec.post_norm)
            post_norm_ = f32_vector(f, prefix_ + "post_attention_norm.weight", hp.n_embd);
    }

    std::string name() const override { return prefix_ + "attn"; }

    void reserve_kv(int32_t n_blocks, int32_t block_size) override {
        keys_.reserve(n_blocks, block_size, hp_.n_head_kv * hp_.head_dim);
        values_.reserve(n_blocks, block_size, hp_.n_head_kv * hp_.head_dim);
    }
    int64_t kv_bytes_per_token() const override {
        return 2 * hp_.n_head_kv * hp_.head_dim * int64_t(sizeof(float));
    }
    int64_t uncompressed_kv_bytes_per_token() const override {
        return 2 * hp_.n_head * hp_.head_dim * int64_t(sizeof(float));
    }
    std::vector<KvBlocks*> kv_caches() override { return {&keys_, &values_}; }

    void forward(const StepContext& ctx, Activations& x) override {
        const Batch& batch = ctx.batch;
        keys_.check(batch, name());
        const int64_t n = x.rows;
        rms_norm_rows(x, norm_.data(), hp_.rms_eps, normed_);
        project(ctx, wq_, bq_, q_);
        project(ctx, wk_, bk_, k_);
        project(ctx, wv_, bv_, v_);
        for (int64_t i = 0; i < n; ++i) {
            position_query_and_key(q_.row(i), k_.row(i), batch.pos[size_t(i)]);
            const auto table = batch.block_tables[size_t(batch.seq[size_t(i)])];
            std::copy_n(k_.row(i), k_.cols, keys_.row(table, batch.pos[size_t(i)]));
            std::copy_n(v_.row(i), v_.cols, values_.row(table, batch.pos[size_t(i)]));
        }
        attend_all(ctx);
        out_.resize(n, x.cols);
        kernels::matmul(wo_, attn_.data.data(), n, out_.data.data(), ctx.pool);
        if (spec_.post_norm) rms_norm_rows_in_place(out_, post_norm_.data(), hp_.rms_eps);
        for (size_t i = 0; i < x.data.size(); ++i) x.data[i] += out_.data[i];
    }

private:
    // out = w * normed_ (+ bias when the layer has one), one row per token.
    void project(const StepContext& ctx, const kernels::MatView& w, std::span<const float> bias,
                 Activations& out) {
        out.resize(normed_.rows, w.rows);
        kernels::matmul(w, normed_.data.data(), normed_.rows, out.data.data(), ctx.pool);
        if (bias.empty()) return;
        for (int64_t i = 0; i < out.rows; ++i)
            for (int64_t c = 0; c < out.cols; ++c) out.row(i)[c] += bias[size_t(c)];
    }

    // QK-norm (when the layer has it), then RoPE, of one token's query and key heads.
    void position_query_and_key(float* q, float* k, int32_t pos) const {
        if (spec_.qk_norm) {
            rms_norm_heads(q, hp_.n_head, hp_.head_dim, q_norm_.data(), hp_.rms_eps);
            rms_norm_heads(k, hp_.n_head_kv, hp_.head_dim, k_norm_.data(), hp_.rms_eps);
        }
        apply_rope(q, hp_.n_head, hp_.head_dim, pos, spec_.rope_base, spec_.rope_position_scale,
                   spec_.rope_layout);
        apply_rope(k, hp_.n_head_kv, hp_.head_dim, pos, spec_.rope_base, spec_.rope_position_scale,
                   spec_.rope_layout);
    }

    // One (token, head) pair per task: scaled dot products over the sequence's cached keys,
    // softmax, weighted sum of values.
    void attend_all(const StepContext& ctx) {
        const Batch& batch = ctx.batch;
        const int64_t n = batch.size(), heads = hp_.n_head, hd = hp_.head_dim;
        attn_.resize(n, heads * hd);
        auto task = [&](int64_t begin, int64_t end) {
            std::vector<float> scores;
            for (int64_t t = begin; t < end; ++t) attend(batch, t / heads, t % heads, scores);
        };
        if (ctx.pool)
            ctx.pool->parallel_for(n * heads, task);
        else
            task(0, n * heads);
    }

    // Scores against the visible keys (all earlier positions, or the sliding window), walked
    // block by block since consecutive positions are contiguous only within a block.
    void attend(const Batch& batch, int64_t token, int64_t head, std::vector<float>& scores) {
        const int64_t hd = hp_.head_dim;
        const int64_t kv_head = head / (hp_.n_head / hp_.n_head_kv);
        const int32_t pos = batch.pos[size_t(token)];
        const int32_t first = first_visible_position(pos, spec_.sliding_window);
        const auto table = batch.block_tables[size_t(batch.seq[size_t(token)])];
        const float* q = q_.row(token) + head * hd;
        const int32_t n_visible = pos + 1 - first;
        scores.resize(size_t(n_visible));
        for (int32_t p = first; p <= pos;) {
            const int32_t n = std::min(keys_.block_size() - p % keys_.block_size(), pos + 1 - p);
            const float* keys = keys_.row(table, p) + kv_head * hd;
            kernels::dot_rows_f32(keys, keys_.width(), n, q, hd, scores.data() + (p - first));
            p += n;
        }
        for (float& s : scores) s *= spec_.score_scale;
        softmax(scores.data(), n_visible);
        float* out = attn_.row(token) + head * hd;
        std::fill_n(out, hd, 0.0f);
        for (int32_t j = first; j <= pos; ++j) {
            const float* v = values_.row(table, j) + kv_head * hd;
            const float p = scores[size_t(j - first)];
            for (int64_t d = 0; d < hd; ++d) out[d] += p * v[d];
        }
    }

    std::string prefix_;
    HParams hp_;
    AttentionSpec spec_;
    std::span<const float> norm_;
    std::span<const float> bq_, bk_, bv_, q_norm_, k_norm_, post_norm_;  // empty when absent
    kernels::MatView wq_, wk_, wv_, wo_;
    KvBlocks keys_, values_;  // same shape; keys_ checks batches for both
    Activations normed_, q_, k_, v_, attn_, out_;
};

}  // namespace

AttentionSpec standard_attention(const HParams& hp) {
    if (hp.n_rot != hp.head_dim)
        throw std::runtime_error("model: rope.dimension_count " + std::to_string(hp.n_rot) +
                                 " differs from the head dimension " + std::to_string(hp.head_dim) +
                                 " (partial RoPE is not supported)");
    return {.rope_layout = RopeLayout::AdjacentPairs,
            .rope_base = hp.rope_theta,
            .rope_position_scale = hp.rope_linear_scale(),
            .score_scale = 1.0f / std::sqrt(float(hp.head_dim))};
}

std::unique_ptr<Unit> make_attention(const gguf::File& f, const HParams& hp, int64_t layer,
                                     const AttentionSpec& spec) {
    return std::make_unique<Attention>(f, hp, layer, spec);
}

}  // namespace ms::model
