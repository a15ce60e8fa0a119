// The merge loop shared by the SentencePiece and BPE tokenizers (private to the module): the
// text starts as one symbol per character and neighbouring symbols merge, best pair first.
#pragma once
#include <algorithm>
#include <optional>
#include <queue>
#include <string_view>
#include <vector>

#include "tokenizer/utf8.h"

namespace ms::tok {

// priority(left, right) ranks merging two neighbouring symbols (higher first; nullopt: they
// never merge). Ties go to the leftmost pair. Returns the final symbols in order.
template <typename Priority>
std::vector<std::string_view> merge_neighbours(std::string_view text, const Priority& priority) {
    struct Symbol {
        size_t start;
        size_t length;  // 0 once merged into its left neighbour
        int prev;
        int next;
    };
    struct Candidate {
        double priority;
        int left;
        int right;
        size_t length;  // of both sides together, to notice when one side grew since
        bool operator<(const Candidate& o) const {
            return priority < o.priority || (priority == o.priority && left > o.left);
        }
    };

    std::vector<Symbol> symbols;
    for (size_t pos = 0; pos < text.size();) {
        const size_t length = std::min(utf8::sequence_length(text[pos]), text.size() - pos);
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({pos, length, index - 1, pos + length < text.size() ? index + 1 : -1});
        pos += length;
    }
    const auto view = [&](const Symbol& s) { return text.substr(s.start, s.length); };

    std::priority_queue<Candidate> queue;
    const auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols[left];
        const Symbol& r = symbols[right];
        if (const std::optional<double> p = priority(view(l), view(r))) {
            queue.push({*p, left, right, l.length + r.length});
        }
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) consider(i - 1, i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& left = symbols[c.left];
        Symbol& right = symbols[c.right];
        if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) {
            continue;  // stale: one side was merged elsewhere since
        }
        left.length += right.length;
        right.length = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = c.left;
        consider(left.prev, c.left);
        consider(c.left, left.next);
    }

    std::vector<std::string_view> merged;
    for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
        merged.push_back(view(symbols[i]));
    }
    return merged;
}

}  // namespace ms::tok
