// One sequence run through a model: feeds tokens in chunks of at most n_batch, keeps the
// sequence's KV blocks, and returns logits. The serving scheduler batches many of these.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/prefix_cache.h"
#include "model/unit.h"

namespace ms {
class ThreadPool;
}
namespace ms::model {
class Model;
}

namespace ms::engine {

struct SessionOptions {
    int32_t n_ctx = 2048;     // most positions the sequence may hold
    int32_t n_batch = 256;    // most tokens per forward pass
    int32_t block_size = 16;  // tokens per KV block
};

class Session {
public:
    // Sizes the model's KV store for n_ctx positions of this one sequence.
    Session(model::Model& model, ThreadPool* pool, const SessionOptions& options);

    // Appends tokens at the end of the sequence. logits receives one row per appended token
    // when all_logits, else only the last token's row. Throws std::length_error past n_ctx.
    void append(std::span<const int32_t> tokens, bool all_logits, model::Activations& logits);
    int32_t n_past() const { return n_past_; }
    const std::vector<int32_t>& tokens() const { return history_; }
    void reset();

private:
    model::Model& model_;
    ThreadPool* pool_;
    SessionOptions options_;
    PrefixCache blocks_;  // used as a plain block pool: one sequence shares nothing
    std::vector<int32_t> table_;
    int32_t n_past_ = 0;
    std::vector<int32_t> history_;
    model::Batch batch_;
    model::Activations chunk_logits_;
};

}  // namespace ms::engine
