#include "grammar/matcher.h"

#include <algorithm>
#include <stdexcept>

namespace ms::grammar {

size_t Automaton::VectorHash::operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ uint32_t(x)) * 1099511628211ull;
    return size_t(h);
}

Automaton::Automaton(const Grammar& grammar, size_t max_states)
    : byte_sets_(grammar.byte_sets), max_states_(max_states) {
    grammar.validate();
    rule_starts_.resize(grammar.rules.size());
    for (size_t r = 0; r < grammar.rules.size(); ++r) {
        for (const auto& alt : grammar.rules[r].alternatives) {
            rule_starts_[r].push_back(int32_t(elements_.size()));
            for (const auto& s : alt) {
                const auto kind =
                    s.kind == Symbol::Kind::kBytes ? Element::Kind::kBytes : Element::Kind::kRule;
                elements_.push_back({kind, s.index});
            }
            elements_.push_back({Element::Kind::kEnd, 0});
        }
    }
    // The start state: the root rule's alternatives on an otherwise empty stack.
    std::vector<Node> work;
    for (int32_t pos : rule_starts_[grammar.root]) work.push_back({pos, -1});
    close(work);
}

int32_t Automaton::node(int32_t pos, int32_t parent) {
    const uint64_t key = (uint64_t(uint32_t(pos)) << 32) | uint32_t(parent + 1);
    auto [it, inserted] = node_ids_.try_emplace(key, int32_t(nodes_.size()));
    if (inserted) nodes_.push_back({pos, parent});
    return it->second;
}

StateId Automaton::close(std::vector<Node>& work) {
    seen_.clear();
    key_.clear();
    bool can_finish = false;
    while (!work.empty()) {
        const Node frame = work.back();
        work.pop_back();
        // A frame is identified by its position and the node it returns to; the same frame
        // reached twice (an ambiguous grammar, an empty loop body) is expanded once.
        const uint64_t id = (uint64_t(uint32_t(frame.pos)) << 32) | uint32_t(frame.parent + 1);
        if (!seen_.insert(id).second) continue;
        const Element& e = elements_[size_t(frame.pos)];
        switch (e.kind) {
            case Element::Kind::kBytes:
                key_.push_back(node(frame.pos, frame.parent));
                break;
            case Element::Kind::kRule: {
                // A rule in last position returns straight to our parent: no frame for it,
                // which keeps right recursion (every loop) at a constant stack depth.
                const bool tail = elements_[size_t(frame.pos) + 1].kind == Element::Kind::kEnd;
                const int32_t parent = tail ? frame.parent : node(frame.pos + 1, frame.parent);
                for (int32_t start : rule_starts_[e.index]) work.push_back({start, parent});
                break;
            }
            case Element::Kind::kEnd:
                if (frame.parent < 0) {
                    can_finish = true;
                } else {
                    work.push_back(nodes_[size_t(frame.parent)]);
                }
                break;
        }
    }
    std::sort(key_.begin(), key_.end());
    key_.erase(std::unique(key_.begin(), key_.end()), key_.end());
    key_.push_back(can_finish ? 1 : 0);  // two states may differ only in this
    auto it = state_ids_.find(key_);
    if (it != state_ids_.end()) return it->second;
    if (states_.size() >= max_states_)
        throw std::length_error("grammar automaton exceeds " + std::to_string(max_states_) +
                                " states");
    const StateId id = StateId(states_.size());
    State state;
    state.can_finish = can_finish;
    state.stacks.assign(key_.begin(), key_.end() - 1);
    states_.push_back(std::move(state));
    next_.resize(states_.size() * 256, kUnknown);
    state_ids_.emplace(key_, id);
    return id;
}

StateId Automaton::compute_next(StateId from, uint8_t b) {
    std::vector<Node> work;
    for (int32_t n : states_[size_t(from)].stacks) {
        const Node& top = nodes_[size_t(n)];
        if (byte_sets_[elements_[size_t(top.pos)].index].contains(b))
            work.push_back({top.pos + 1, top.parent});
    }
    const StateId to = work.empty() ? kDeadState : close(work);
    next_[size_t(from) * 256 + b] = to;
    return to;
}

bool Matcher::accept(uint8_t b) {
    const StateId to = automaton_->next(state_, b);
    if (to == kDeadState) return false;
    state_ = to;
    return true;
}

bool Matcher::accept(std::string_view bytes) {
    StateId s = state_;
    for (char c : bytes) {
        s = automaton_->next(s, uint8_t(c));
        if (s == kDeadState) return false;
    }
    state_ = s;
    return true;
}

}  // namespace ms::grammar
