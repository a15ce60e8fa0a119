#include "model/attention_mla.h"

#include <algorithm>
#include <cmath>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"
#include "model/kv_blocks.h"
#include "model/layer_math.h"
#include "model/units.h"
#include "model/weights.h"

namespace ms::model {
namespace {

// Queries: through a low-rank bottleneck with its own norm, or one plain projection.
struct QueryProjection {
    kernels::MatView down, up;  // attn_q_a, attn_q_b (down.data null: plain)
    std::span<const float> norm;
    kernels::MatView plain;  // attn_q
};

class LatentAttention final : public Unit, public KvHolder {
public:
    LatentAttention(const gguf::File& f, const HParams& hp, int64_t layer, const MlaSpec& spec)
        : prefix_("blk." + std::to_string(layer) + "."),
          spec_(spec),
          eps_(hp.rms_eps),
          norm_(f32_vector(f, prefix_ + "attn_norm.weight", hp.n_embd)),
          query_(load_query(f, hp)),
          kv_down_(matrix(f, prefix_ + "attn_kv_a_mqa.weight", hp.n_embd, spec.cache_width())),
          kv_norm_(f32_vector(f, prefix_ + "attn_kv_a_norm.weight", spec.kv_lora_rank)),
          wo_(matrix(f, prefix_ + "attn_output.weight", spec.n_head * spec.v_head_dim, hp.n_embd)) {
        for (int64_t h = 0; h < spec.n_head; ++h) {
            key_absorb_.push_back(stacked_matrix(f, prefix_ + "attn_k_b.weight", spec.qk_nope_dim,
                                                 spec.kv_lora_rank, spec.n_head, h));
            value_expand_.push_back(stacked_matrix(f, prefix_ + "attn_v_b.weight",
                                                   spec.kv_lora_rank, spec.v_head_dim, spec.n_head,
                                                   h));
        }
    }

    std::string name() const override { return prefix_ + "attn_mla"; }

    void reserve_kv(int32_t n_blocks, int32_t block_size) override {
        cache_.reserve(n_blocks, block_size, spec_.cache_width());
    }
    int64_t kv_bytes_per_token() const override {
        return spec_.cache_width() * int64_t(sizeof(float));
    }
    int64_t uncompressed_kv_bytes_per_token() const override {
        return spec_.n_head * (spec_.qk_nope_dim + spec_.qk_rope_dim + spec_.v_head_dim) *
               int64_t(sizeof(float));
    }
    std::vector<KvBlocks*> kv_caches() override { return {&cache_}; }

    void forward(const StepContext& ctx, Activations& x) override {
        cache_.check(ctx.batch, name());
        rms_norm_rows(x, norm_.data(), eps_, normed_);
        project_queries(ctx);
        cache_latents(ctx);
        absorb_queries(ctx);
        attend_all(ctx);
        expand_values(ctx);
        out_.resize(x.rows, x.cols);
        kernels::matmul(wo_, heads_out_.data.data(), x.rows, out_.data.data(), ctx.pool);
        for (size_t i = 0; i < x.data.size(); ++i) x.data[i] += out_.data[i];
    }

private:
    QueryProjection load_query(const gguf::File& f, const HParams& hp) const {
        const int64_t q_width = spec_.n_head * (spec_.qk_nope_dim + spec_.qk_rope_dim);
        QueryProjection q;
        if (spec_.q_lora_rank == 0) {
            q.plain = matrix(f, prefix_ + "attn_q.weight", hp.n_embd, q_width);
            return q;
        }
        q.down = matrix(f, prefix_ + "attn_q_a.weight", hp.n_embd, spec_.q_lora_rank);
        q.norm = f32_vector(f, prefix_ + "attn_q_a_norm.weight", spec_.q_lora_rank);
        q.up = matrix(f, prefix_ + "attn_q_b.weight", spec_.q_lora_rank, q_width);
        return q;
    }

    // q_ (n x n_head x (nope + rope)), rope part rotated.
    void project_queries(const StepContext& ctx) {
        const int64_t n = normed_.rows;
        if (query_.down.data) {
            q_low_.resize(n, query_.down.rows);
            kernels::matmul(query_.down, normed_.data.data(), n, q_low_.data.data(), ctx.pool);
            for (int64_t t = 0; t < n; ++t)
                rms_norm(q_low_.row(t), query_.norm.data(), q_low_.cols, eps_, q_low_.row(t));
            q_.resize(n, query_.up.rows);
            kernels::matmul(query_.up, q_low_.data.data(), n, q_.data.data(), ctx.pool);
        } else {
            q_.resize(n, query_.plain.rows);
            kernels::matmul(query_.plain, normed_.data.data(), n, q_.data.data(), ctx.pool);
        }
        const int64_t head = spec_.qk_nope_dim + spec_.qk_rope_dim;
        for (int64_t t = 0; t < n; ++t)
            spec_.rope.rotate(q_.row(t) + spec_.qk_nope_dim, spec_.n_head, head,
                              ctx.batch.pos[size_t(t)]);
    }

    // Each token's cache row: [normalised latent | RoPE'd shared key].
    void cache_latents(const StepContext& ctx) {
        const Batch& batch = ctx.batch;
        const int64_t n = normed_.rows, rank = spec_.kv_lora_rank;
        kv_.resize(n, spec_.cache_width());
        kernels::matmul(kv_down_, normed_.data.data(), n, kv_.data.data(), ctx.pool);
        for (int64_t t = 0; t < n; ++t) {
            float* row = kv_.row(t);
            rms_norm(row, kv_norm_.data(), rank, eps_, row);
            spec_.rope.rotate(row + rank, 1, spec_.qk_rope_dim, batch.pos[size_t(t)]);
            const auto table = batch.block_tables[size_t(batch.seq[size_t(t)])];
            std::copy_n(row, kv_.cols, cache_.row(table, batch.pos[size_t(t)]));
        }
    }

    // query_latent_ (n x n_head x cache_width): per head [k_b . q_nope | q_rope], so a score
    // is one dot product with a cache row.
    void absorb_queries(const StepContext& ctx) {
        const int64_t n = q_.rows, width = spec_.cache_width(), rank = spec_.kv_lora_rank;
        const int64_t head = spec_.qk_nope_dim + spec_.qk_rope_dim;
        query_latent_.resize(n, spec_.n_head * width);
        for (int64_t h = 0; h < spec_.n_head; ++h) {
            gather_columns(q_, h * head, spec_.qk_nope_dim, gathered_);
            per_head_.resize(n, rank);
            kernels::matmul(key_absorb_[size_t(h)], gathered_.data.data(), n, per_head_.data.data(),
                            ctx.pool);
            for (int64_t t = 0; t < n; ++t) {
                float* dst = query_latent_.row(t) + h * width;
                std::copy_n(per_head_.row(t), rank, dst);
                std::copy_n(q_.row(t) + h * head + spec_.qk_nope_dim, spec_.qk_rope_dim,
                            dst + rank);
            }
        }
    }

    // One (token, head) pair per task: scores against the sequence's cache rows, softmax,
    // weighted sum of the latents.
    void attend_all(const StepContext& ctx) {
        const int64_t n = q_.rows, heads = spec_.n_head;
        latent_out_.resize(n, heads * spec_.kv_lora_rank);
        auto task = [&](int64_t begin, int64_t end) {
            std::vector<float> scores;
            for (int64_t i = begin; i < end; ++i) attend(ctx.batch, i / heads, i % heads, scores);
        };
        if (ctx.pool)
            ctx.pool->parallel_for(n * heads, task);
        else
            task(0, n * heads);
    }

    void attend(const Batch& batch, int64_t token, int64_t head, std::vector<float>& scores) {
        const int64_t width = spec_.cache_width(), rank = spec_.kv_lora_rank;
        const int32_t pos = batch.pos[size_t(token)];
        const auto table = batch.block_tables[size_t(batch.seq[size_t(token)])];
        const float* q = query_latent_.row(token) + head * width;
        scores.resize(size_t(pos) + 1);
        for (int32_t start = 0; start <= pos; start += cache_.block_size()) {
            const int32_t rows = std::min(cache_.block_size(), pos + 1 - start);
            kernels::dot_rows_f32(cache_.row(table, start), width, rows, q, width,
                                  scores.data() + start);
        }
        for (float& s : scores) s *= spec_.kq_scale;
        softmax(scores.data(), pos + 1);
        float* out = latent_out_.row(token) + head * rank;
        std::fill_n(out, rank, 0.0f);
        for (int32_t j = 0; j <= pos; ++j) {
            const float* latent = cache_.row(table, j);
            const float p = scores[size_t(j)];
            for (int64_t d = 0; d < rank; ++d) out[d] += p * latent[d];
        }
    }

    // heads_out_ (n x n_head x v_head_dim): each head's attended latent through v_b.
    void expand_values(const StepContext& ctx) {
        const int64_t n = q_.rows, rank = spec_.kv_lora_rank, v = spec_.v_head_dim;
        heads_out_.resize(n, spec_.n_head * v);
        for (int64_t h = 0; h < spec_.n_head; ++h) {
            gather_columns(latent_out_, h * rank, rank, gathered_);
            per_head_.resize(n, v);
            kernels::matmul(value_expand_[size_t(h)], gathered_.data.data(), n,
                            per_head_.data.data(), ctx.pool);
            for (int64_t t = 0; t < n; ++t)
                std::copy_n(per_head_.row(t), v, heads_out_.row(t) + h * v);
        }
    }

    // out (rows x width) = columns [first, first + width) of every row of in.
    static void gather_columns(const Activations& in, int64_t first, int64_t width,
                               Activations& out) {
        out.resize(in.rows, width);
        for (int64_t t = 0; t < in.rows; ++t) std::copy_n(in.row(t) + first, width, out.row(t));
    }

    std::string prefix_;
    MlaSpec spec_;
    float eps_;
    std::span<const float> norm_;
    QueryProjection query_;
    kernels::MatView kv_down_;
    std::span<const float> kv_norm_;
    std::vector<kernels::MatView> key_absorb_, value_expand_;  // per head
    kernels::MatView wo_;
    KvBlocks cache_;
    Activations normed_, q_low_, q_, kv_, query_latent_, latent_out_, heads_out_, gathered_,
        per_head_, out_;
};

}  // namespace

std::unique_ptr<Unit> make_mla_attention(const gguf::File& f, const HParams& hp, int64_t layer,
                                         const MlaSpec& spec) {
    return std::make_unique<LatentAttention>(f, hp, layer, spec);
}

}  // namespace ms::model
