#include "grammar/token_mask.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace ms::grammar {

VocabIndex::VocabIndex(std::vector<std::string> token_bytes, std::vector<int32_t> end_tokens)
    : token_bytes_(std::move(token_bytes)), end_tokens_(std::move(end_tokens)) {
    for (int32_t id : end_tokens_)
        if (id < 0 || id >= n_tokens()) throw std::out_of_range("end token outside vocabulary");
    std::sort(end_tokens_.begin(), end_tokens_.end());
    // Sorted byte strings visit the trie in pre-order: each token shares its prefix with the
    // one before, so only its new suffix adds nodes.
    std::vector<int32_t> order;
    for (int32_t id = 0; id < n_tokens(); ++id)
        if (!token_bytes_[size_t(id)].empty() && !is_end(id)) order.push_back(id);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return token_bytes_[size_t(a)] < token_bytes_[size_t(b)];
    });
    std::vector<int32_t> path;  // node at each depth of the current branch
    std::string_view previous;
    auto close_to = [&](size_t depth) {
        while (path.size() > depth) {
            nodes_[size_t(path.back())].skip = int32_t(nodes_.size());
            path.pop_back();
        }
    };
    std::vector<std::vector<int32_t>> node_tokens;
    for (int32_t id : order) {
        const std::string& bytes = token_bytes_[size_t(id)];
        size_t common = 0;
        while (common < bytes.size() && common < previous.size() &&
               bytes[common] == previous[common])
            ++common;
        close_to(common);
        for (size_t d = common; d < bytes.size(); ++d) {
            path.push_back(int32_t(nodes_.size()));
            nodes_.push_back(
                {0, 0, uint16_t(std::min<size_t>(d + 1, UINT16_MAX)), uint8_t(bytes[d])});
            node_tokens.emplace_back();
        }
        node_tokens[size_t(path.back())].push_back(id);
        max_depth_ = std::max(max_depth_, bytes.size());
        previous = bytes;
    }
    close_to(0);
    if (max_depth_ >= UINT16_MAX) throw std::length_error("token longer than 65534 bytes");
    for (size_t i = 0; i < node_tokens.size(); ++i) {
        nodes_[i].token_begin = int32_t(tokens_.size());
        tokens_.insert(tokens_.end(), node_tokens[i].begin(), node_tokens[i].end());
    }
    nodes_.push_back({0, int32_t(tokens_.size()), 0, 0});
}

bool VocabIndex::is_end(int32_t id) const {
    return std::binary_search(end_tokens_.begin(), end_tokens_.end(), id);
}

TokenMasker::TokenMasker(std::shared_ptr<const VocabIndex> vocab,
                         std::shared_ptr<Automaton> automaton)
    : vocab_(std::move(vocab)), automaton_(std::move(automaton)) {
    path_.resize(vocab_->max_depth_ + 1);
}

void TokenMasker::fill_mask(const Matcher& matcher, std::span<uint64_t> mask) {
    if (&matcher.automaton() != automaton_.get())
        throw std::invalid_argument("matcher of another automaton");
    if (mask.size() != vocab_->mask_words()) throw std::invalid_argument("mask size");
    const StateId state = matcher.state();
    auto it = cache_.find(state);
    if (it == cache_.end()) {
        std::vector<uint64_t> fresh(vocab_->mask_words(), 0);
        walk_trie(state, fresh);
        if (automaton_->can_finish(state))
            for (int32_t id : vocab_->end_tokens()) fresh[size_t(id) >> 6] |= 1ull << (id & 63);
        it = cache_.emplace(state, std::move(fresh)).first;
    }
    std::copy(it->second.begin(), it->second.end(), mask.begin());
}

void TokenMasker::walk_trie(StateId state, std::span<uint64_t> mask) {
    const VocabIndex& v = *vocab_;
    const auto* nodes = v.nodes_.data();
    const int32_t n = int32_t(v.nodes_.size()) - 1;
    path_[0] = state;
    for (int32_t i = 0; i < n;) {
        const auto& node = nodes[i];
        const StateId next = automaton_->next(path_[node.depth - 1], node.byte);
        if (next == kDeadState) {
            i = node.skip;  // no token with this prefix can follow
            continue;
        }
        path_[node.depth] = next;
        for (int32_t t = node.token_begin; t < nodes[i + 1].token_begin; ++t) {
            const int32_t id = v.tokens_[size_t(t)];
            mask[size_t(id) >> 6] |= 1ull << (id & 63);
        }
        ++i;
    }
}

bool TokenMasker::accept_token(Matcher& matcher, int32_t token) const {
    if (token < 0 || token >= vocab_->n_tokens()) return false;
    if (vocab_->is_end(token)) return matcher.can_finish();
    const std::string& bytes = vocab_->token_bytes(token);
    return !bytes.empty() && matcher.accept(bytes);
}

}  // namespace ms::grammar
