#include "engine/session.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/model.h"

namespace ms::engine {
namespace {

int32_t blocks_for(const SessionOptions& o) {
    return (o.n_ctx + o.block_size - 1) / o.block_size;
}

}  // namespace

Session::Session(model::Model& model, ThreadPool* pool, const SessionOptions& options)
    : model_(model), pool_(pool), options_(options), blocks_(blocks_for(options)) {
    if (options.n_ctx <= 0 || options.n_batch <= 0 || options.block_size <= 0)
        throw std::invalid_argument("session: n_ctx, n_batch and block_size must be positive");
    model_.reserve_kv(blocks_.n_total(), options.block_size);
}

void Session::append(std::span<const int32_t> tokens, bool all_logits, model::Activations& logits) {
    if (tokens.empty()) throw std::invalid_argument("session: no tokens to append");
    if (n_past_ + int64_t(tokens.size()) > options_.n_ctx)
        throw std::length_error("session: " + std::to_string(n_past_ + tokens.size()) +
                                " tokens exceed the context of " + std::to_string(options_.n_ctx));
    const auto needed =
        size_t((n_past_ + int64_t(tokens.size()) + options_.block_size - 1) / options_.block_size);
    while (table_.size() < needed) table_.push_back(blocks_.allocate());  // sized for n_ctx
    logits.resize(0, 0);
    for (size_t start = 0; start < tokens.size(); start += size_t(options_.n_batch)) {
        const size_t end = std::min(tokens.size(), start + size_t(options_.n_batch));
        batch_ = model::Batch{};
        batch_.block_size = options_.block_size;
        batch_.block_tables = {table_};
        for (size_t i = start; i < end; ++i)
            batch_.add(tokens[i], n_past_ + int32_t(i - start), 0,
                       all_logits || i + 1 == tokens.size());
        model_.forward(batch_, pool_, chunk_logits_);
        n_past_ += int32_t(end - start);
        if (chunk_logits_.rows == 0) continue;
        logits.cols = chunk_logits_.cols;
        logits.rows += chunk_logits_.rows;
        logits.data.insert(logits.data.end(), chunk_logits_.data.begin(), chunk_logits_.data.end());
    }
    history_.insert(history_.end(), tokens.begin(), tokens.end());
}

void Session::reset() {
    for (int32_t b : table_) blocks_.release(b);
    table_.clear();
    n_past_ = 0;
    history_.clear();
}

}  // namespace ms::engine
