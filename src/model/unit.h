// The unit interface: a model is a chain of units (embedding, attention, FFN or MoE, head),
// each owning its weights and transforming a batch's activations in place. Nothing here
// assumes where a unit runs; the runtime places units on workers.
#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace ms {
class ThreadPool;
}

namespace ms::model {

// The front end's cores when attention DP groups take turns on them (executor/compute_turn.h):
// a long unit yields between pieces of its work, so another group's step can send its tokens to a
// worker meanwhile.
class FrontEndTurn {
public:
    virtual ~FrontEndTurn() = default;
    // Lets a waiting group that feeds a worker go first, then takes the turn back (as a feeder
    // when the caller will next send work to a worker).
    virtual void yield(bool feeds_worker) = 0;
};

// Row-major float matrix: one row per token (or per output row for the head).
struct Activations {
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<float> data;

    void resize(int64_t r, int64_t c) {
        rows = r;
        cols = c;
        data.resize(size_t(r * c));
    }
    float* row(int64_t r) { return data.data() + r * cols; }
    const float* row(int64_t r) const { return data.data() + r * cols; }
};

// One step's worth of tokens from one or more sequences. Token i belongs to sequence
// seq[i] and sits at position pos[i]; its keys and values go to block
// block_tables[seq[i]][pos[i] / block_size]. Attention for token i covers positions
// 0..pos[i] of its sequence, so earlier positions must be cached or in this batch.
struct Batch {
    std::vector<int32_t> tokens;
    std::vector<int32_t> pos;
    std::vector<int32_t> seq;
    std::vector<uint8_t> want_logits;  // per token: the head produces a row for it
    std::vector<std::span<const int32_t>> block_tables;  // per sequence
    int32_t block_size = 16;

    int64_t size() const { return int64_t(tokens.size()); }
    int64_t n_logit_rows() const;
    // Appends a token; the sequence index must already have a block table.
    void add(int32_t token, int32_t position, int32_t seq_index, bool logits);
};

struct StepContext {
    const Batch& batch;
    ThreadPool* pool = nullptr;
    // Set when DP groups share the front end.
    FrontEndTurn* turn = nullptr;
};

class Unit {
public:
    virtual ~Unit() = default;
    virtual std::string name() const = 0;  // e.g. "blk.3.attn"
    // Transforms x in place. Embedding fills x (n_tokens x n_embd) from the batch's tokens;
    // the head leaves x as (n_logit_rows x n_vocab) logits.
    virtual void forward(const StepContext& ctx, Activations& x) = 0;

    // Micro-batch pipelining (executor/micro_batch.h): begin() starts the unit on x and returns
    // true if it is still running (a unit in another worker sent its request); then end() waits and
    // leaves the result in x. Up to kMaxMicroBatches calls, told apart by micro_batch, may be
    // running at once; x and ctx stay alive until end(). The default runs forward() in begin().
    virtual bool begin(const StepContext& ctx, Activations& x, int micro_batch) {
        (void)micro_batch;
        forward(ctx, x);
        return false;
    }
    virtual void end(Activations& x, int micro_batch) {
        (void)x;
        (void)micro_batch;
    }
};

constexpr int kMaxMicroBatches = 8;

// Thrown by a unit that cannot run now but should again soon (its worker died and is being
// relaunched): the step's requests fail, and may be retried later.
class UnitUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace ms::model
