// Runs a Grammar one byte at a time. A configuration of the pushdown automaton is the set of
// stacks that are still alive (each stack a chain of grammar positions: where to continue in
// each open rule). Stacks are hash-consed into shared nodes and configurations into numbered
// states, and transitions (state, byte) -> state are memoised: the automaton is a DFA built
// lazily over the configurations actually reached, so a step seen before is one table lookup
// and a Matcher is an automaton plus a state number (copy and rollback cost nothing).
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "grammar/grammar.h"

namespace ms::grammar {

using StateId = int32_t;
inline constexpr StateId kDeadState = -1;

// Not thread-safe: it grows as it is used. One per request (the choices of a request with
// n > 1 share it on one thread), or guarded by the caller.
class Automaton {
public:
    // Throws GrammarError when the grammar is not valid (Grammar::validate).
    explicit Automaton(const Grammar& grammar, size_t max_states = 1 << 20);

    StateId start() const { return 0; }
    // The state after byte b, or kDeadState. Throws std::length_error when the automaton would
    // grow beyond max_states (an adversarial grammar; the caller fails the request).
    StateId next(StateId state, uint8_t b) {
        const StateId known = next_[size_t(state) * 256 + b];
        return known != kUnknown ? known : compute_next(state, b);
    }
    bool can_finish(StateId state) const { return states_[size_t(state)].can_finish; }
    // No byte can follow: the only way on is to end.
    bool must_finish(StateId state) const {
        const auto& s = states_[size_t(state)];
        return s.can_finish && s.stacks.empty();
    }
    size_t n_states() const { return states_.size(); }
    size_t n_stack_nodes() const { return nodes_.size(); }

private:
    static constexpr StateId kUnknown = -2;
    // Grammar positions flattened: one entry per symbol, an end marker after each alternative.
    struct Element {
        enum class Kind : uint8_t { kBytes, kRule, kEnd } kind;
        uint32_t index;  // byte set or rule
    };
    struct Node {  // one stack frame: a position, and the frame to return to (-1: the root)
        int32_t pos;
        int32_t parent;
    };
    struct State {
        std::vector<int32_t> stacks;  // nodes whose position is a byte set; sorted, unique
        bool can_finish = false;
    };
    struct VectorHash {
        size_t operator()(const std::vector<int32_t>& v) const;
    };

    StateId compute_next(StateId state, uint8_t b);
    int32_t node(int32_t pos, int32_t parent);
    // Expands frames whose position is a rule or an end into stacks waiting on a byte set.
    StateId close(std::vector<Node>& work);

    std::vector<ByteSet> byte_sets_;
    std::vector<Element> elements_;
    std::vector<std::vector<int32_t>> rule_starts_;  // first element of each alternative
    std::vector<Node> nodes_;
    std::unordered_map<uint64_t, int32_t> node_ids_;
    std::vector<State> states_;
    // Transitions of state s at [s * 256, s * 256 + 256): one flat table, so that the trie walk
    // of a mask costs one load per node.
    std::vector<StateId> next_;
    std::unordered_map<std::vector<int32_t>, StateId, VectorHash> state_ids_;
    size_t max_states_;
    // Scratch for close(), kept to avoid allocating per step.
    std::unordered_set<uint64_t> seen_;
    std::vector<int32_t> key_;
};

// A position in the language of a grammar. Copying one is copying a pointer and a number, so
// keeping a copy is the way to roll back.
class Matcher {
public:
    explicit Matcher(std::shared_ptr<Automaton> automaton)
        : automaton_(std::move(automaton)), state_(automaton_->start()) {}

    // Advances by one byte; false (and no change) when the grammar does not allow it.
    bool accept(uint8_t b);
    // Advances by all bytes or, when one is refused, not at all.
    bool accept(std::string_view bytes);
    // The bytes so far are a complete sentence: ending here is allowed.
    bool can_finish() const { return automaton_->can_finish(state_); }
    // Complete and nothing more may follow: generation should end now.
    bool is_complete() const { return automaton_->must_finish(state_); }

    StateId state() const { return state_; }
    Automaton& automaton() const { return *automaton_; }
    const std::shared_ptr<Automaton>& shared_automaton() const { return automaton_; }

private:
    std::shared_ptr<Automaton> automaton_;
    StateId state_;
};

}  // namespace ms::grammar
