#include "grammar/grammar.h"

#include <functional>
#include <unordered_map>

namespace ms::grammar {

ByteSet ByteSet::range(uint8_t lo, uint8_t hi) {
    ByteSet s;
    for (int b = lo; b <= hi; ++b) s.add(uint8_t(b));
    return s;
}

ByteSet& ByteSet::operator|=(const ByteSet& other) {
    for (size_t i = 0; i < bits_.size(); ++i) bits_[i] |= other.bits_[i];
    return *this;
}

ByteSet ByteSet::complement() const {
    ByteSet s;
    for (size_t i = 0; i < bits_.size(); ++i) s.bits_[i] = ~bits_[i];
    return s;
}

namespace {

// Nullable rules by fixed point: a rule is nullable when one alternative is all nullable.
std::vector<bool> nullable_rules(const Grammar& g) {
    std::vector<bool> nullable(g.rules.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < g.rules.size(); ++r) {
            if (nullable[r]) continue;
            for (const auto& alt : g.rules[r].alternatives) {
                bool all = true;
                for (const auto& s : alt)
                    all = all && s.kind == Symbol::Kind::kRule && nullable[s.index];
                if (all) {
                    nullable[r] = changed = true;
                    break;
                }
            }
        }
    }
    return nullable;
}

// Appends rather than concatenates: GCC 12 at -O3 warns (-Wrestrict) on string operator+.
void append_byte(std::string& out, uint8_t b) {
    static const char* hex = "0123456789ABCDEF";
    if (b == '\\' || b == ']' || b == '-' || b == '^' || b < 0x20 || b >= 0x7F) {
        out.append("\\x").push_back(hex[b >> 4]);
        out.push_back(hex[b & 15]);
    } else {
        out.push_back(char(b));
    }
}

std::string byte_set_text(const ByteSet& set) {
    std::string out = "[";
    for (int b = 0; b < 256;) {
        if (!set.contains(uint8_t(b))) {
            ++b;
            continue;
        }
        int e = b;
        while (e + 1 < 256 && set.contains(uint8_t(e + 1))) ++e;
        append_byte(out, uint8_t(b));
        if (e > b) {
            out.push_back('-');
            append_byte(out, uint8_t(e));
        }
        b = e + 1;
    }
    out.push_back(']');
    return out;
}

}  // namespace

void Grammar::validate() const {
    if (root >= rules.size()) throw GrammarError("grammar root is not a rule");
    for (const auto& rule : rules) {
        if (!rule.defined)
            throw GrammarError("rule '" + rule.name + "' is never defined", rule.name);
        for (const auto& alt : rule.alternatives)
            for (const auto& s : alt)
                if ((s.kind == Symbol::Kind::kRule && s.index >= rules.size()) ||
                    (s.kind == Symbol::Kind::kBytes && s.index >= byte_sets.size()))
                    throw GrammarError("rule '" + rule.name + "' names a missing symbol");
    }
    // Left recursion: an edge r -> s when s can come first in r (after nullable symbols).
    const auto nullable = nullable_rules(*this);
    std::vector<uint8_t> colour(rules.size(), 0);  // 0 new, 1 on the path, 2 done
    std::function<void(uint32_t)> visit = [&](uint32_t r) {
        colour[r] = 1;
        for (const auto& alt : rules[r].alternatives) {
            for (const auto& s : alt) {
                if (s.kind == Symbol::Kind::kBytes) break;
                if (colour[s.index] == 1)
                    throw GrammarError("rule '" + rules[s.index].name +
                                           "' can reach itself without consuming input",
                                       rules[s.index].name);
                if (colour[s.index] == 0) visit(s.index);
                if (!nullable[s.index]) break;
            }
        }
        colour[r] = 2;
    };
    for (uint32_t r = 0; r < rules.size(); ++r)
        if (colour[r] == 0) visit(r);
}

std::string Grammar::to_string() const {
    std::string out;
    for (size_t r = 0; r < rules.size(); ++r) {
        if (r == root) out += "root ";
        out += rules[r].name;
        out += "#";
        out += std::to_string(r);
        out += " ::=";
        for (size_t a = 0; a < rules[r].alternatives.size(); ++a) {
            out += a == 0 ? " " : " | ";
            if (rules[r].alternatives[a].empty()) out += "()";
            for (const auto& s : rules[r].alternatives[a]) {
                if (s.kind == Symbol::Kind::kBytes)
                    out.append(byte_set_text(byte_sets[s.index])).append(" ");
                else
                    out.append(rules[s.index].name).append("#").append(std::to_string(s.index));
                if (s.kind == Symbol::Kind::kRule) out += " ";
            }
        }
        out += "\n";
    }
    return out;
}

Symbol GrammarBuilder::bytes(const ByteSet& set) {
    // Byte sets repeat a lot (digits, string characters): keep one copy of each.
    for (uint32_t i = 0; i < g_.byte_sets.size(); ++i)
        if (g_.byte_sets[i] == set) return {Symbol::Kind::kBytes, i};
    g_.byte_sets.push_back(set);
    return {Symbol::Kind::kBytes, uint32_t(g_.byte_sets.size() - 1)};
}

Symbol GrammarBuilder::literal(std::string_view text) {
    if (text.size() == 1) return bytes(ByteSet::single(uint8_t(text[0])));
    Sequence s;
    for (char c : text) s.push_back(bytes(ByteSet::single(uint8_t(c))));
    return seq(s, "literal");
}

Symbol GrammarBuilder::empty() {
    return alt({Sequence{}}, "empty");
}

Symbol GrammarBuilder::seq(const Sequence& symbols, std::string_view name) {
    if (symbols.size() == 1) return symbols[0];
    return alt({symbols}, name);
}

Symbol GrammarBuilder::alt(const std::vector<Sequence>& alternatives, std::string_view name) {
    const Symbol rule = declare(name);
    define(rule, alternatives);
    return rule;
}

Symbol GrammarBuilder::repeat(Symbol x, int min, int max) {
    if (max >= 0 && min > max) throw GrammarError("repetition with min above max");
    if (nullable(x)) throw GrammarError("repetition of something that can be empty");
    Sequence required(size_t(min), x);
    Symbol tail;
    if (max < 0) {
        // tail ::= x tail | (): right recursion, which the matcher runs as a loop.
        tail = declare("star");
        define(tail, {{x, tail}, {}});
    } else {
        // up to k more: opt_k ::= x opt_(k-1) | ()
        tail = empty();
        for (int k = 0; k < max - min; ++k) tail = alt({{x, tail}, {}}, "upto");
    }
    required.push_back(tail);
    return seq(required, "repeat");
}

Symbol GrammarBuilder::declare(std::string_view name) {
    g_.rules.push_back(Rule{std::string(name), {}, false});
    return {Symbol::Kind::kRule, uint32_t(g_.rules.size() - 1)};
}

void GrammarBuilder::define(Symbol rule, std::vector<Sequence> alternatives) {
    auto& r = g_.rules.at(rule.index);
    if (r.defined) throw GrammarError("rule '" + r.name + "' defined twice");
    r.alternatives = std::move(alternatives);
    r.defined = true;
}

Symbol GrammarBuilder::shared(const std::string& key, const std::function<Symbol()>& make) {
    if (auto it = shared_.find(key); it != shared_.end()) return it->second;
    const Symbol made = make();
    shared_.emplace(key, made);
    return made;
}

bool GrammarBuilder::nullable(Symbol x) const {
    std::unordered_map<uint32_t, bool> memo;
    std::function<bool(Symbol)> walk = [&](Symbol s) {
        if (s.kind == Symbol::Kind::kBytes) return false;
        if (auto it = memo.find(s.index); it != memo.end()) return it->second;
        memo[s.index] = false;  // a cycle back here adds nothing
        bool result = false;
        for (const auto& alt : g_.rules[s.index].alternatives) {
            bool all = true;
            for (const auto& e : alt) all = all && walk(e);
            result = result || all;
        }
        return memo[s.index] = result;
    };
    return walk(x);
}

Grammar GrammarBuilder::build(Symbol root) && {
    if (root.kind == Symbol::Kind::kBytes) root = alt({{root}}, "root");
    g_.root = root.index;
    g_.validate();
    return std::move(g_);
}

}  // namespace ms::grammar
