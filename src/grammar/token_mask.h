// Which tokens a grammar allows next. The vocabulary's byte strings are laid out once as a
// trie in pre-order (VocabIndex, shared by every request of a model); a mask is one walk of
// that trie alongside the automaton, skipping every subtree whose prefix the grammar refuses.
// Masks are cached per automaton state, so a state met again (inside a string, between
// array items, the same place in every element of an array) costs a copy.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/matcher.h"

namespace ms::tok {
class Vocab;
}

namespace ms::grammar {

// Immutable after construction; share it between threads.
class VocabIndex {
public:
    // token_bytes[id]: what the token appends to the output (empty: never allowed, e.g.
    // control tokens). end_tokens: end-of-generation ids, allowed when the grammar can finish.
    VocabIndex(std::vector<std::string> token_bytes, std::vector<int32_t> end_tokens);
    // Bytes from Vocab::token_to_piece (control tokens are empty), ends from
    // Vocab::is_end_of_generation.
    static std::shared_ptr<const VocabIndex> from_vocab(const tok::Vocab& vocab);

    int32_t n_tokens() const { return int32_t(token_bytes_.size()); }
    size_t mask_words() const { return (token_bytes_.size() + 63) / 64; }
    const std::string& token_bytes(int32_t id) const { return token_bytes_[size_t(id)]; }
    bool is_end(int32_t id) const;
    const std::vector<int32_t>& end_tokens() const { return end_tokens_; }
    size_t n_trie_nodes() const { return nodes_.size() - 1; }

private:
    friend class TokenMasker;
    std::vector<std::string> token_bytes_;
    std::vector<int32_t> end_tokens_;
    // The trie in pre-order, one record per node so a walk reads one stream. The tokens
    // spelled exactly by node i are tokens_[nodes_[i].token_begin .. nodes_[i + 1].token_begin)
    // (a last record closes the list).
    struct TrieNode {
        int32_t skip;         // the first node after this one's subtree
        int32_t token_begin;  // into tokens_
        uint16_t depth;       // 1: the first byte of a token
        uint8_t byte;
    };
    std::vector<TrieNode> nodes_;
    std::vector<int32_t> tokens_;
    size_t max_depth_ = 0;
};

inline bool mask_allows(std::span<const uint64_t> mask, int32_t token) {
    return (mask[size_t(token) >> 6] >> (token & 63)) & 1;
}

// The masks of one request: binds a vocabulary to the request's automaton and caches its masks.
// Not thread-safe (it shares the automaton's rules).
class TokenMasker {
public:
    TokenMasker(std::shared_ptr<const VocabIndex> vocab, std::shared_ptr<Automaton> automaton);

    // Bit t of mask (vocab.mask_words() words) set when token t may come next.
    // The matcher must run on this masker's automaton.
    void fill_mask(const Matcher& matcher, std::span<uint64_t> mask);
    // Advances the matcher by the token's bytes; false (matcher unchanged) when not allowed.
    // An end-of-generation token is accepted, without moving, when the matcher can finish.
    bool accept_token(Matcher& matcher, int32_t token) const;

    const VocabIndex& vocab() const { return *vocab_; }
    size_t cached_masks() const { return cache_.size(); }

private:
    void walk_trie(StateId state, std::span<uint64_t> mask);

    std::shared_ptr<const VocabIndex> vocab_;
    std::shared_ptr<Automaton> automaton_;
    std::unordered_map<StateId, std::vector<uint64_t>> cache_;
    std::vector<StateId> path_;  // state after each depth of the current trie branch
};

}  // namespace ms::grammar
