// The grammar IR every constraint compiles to: a context-free grammar over bytes. A rule is a
// list of alternatives, an alternative a sequence of symbols, a symbol a set of bytes or a
// reference to a rule. JSON schemas, regexes and choice lists all lower to this form; the
// matcher (matcher.h) runs it. Repetition is right recursion, so stacks do not grow with it.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ms::grammar {

// A set of byte values (256 bits).
class ByteSet {
public:
    static ByteSet single(uint8_t b) { return range(b, b); }
    static ByteSet range(uint8_t lo, uint8_t hi);
    static ByteSet all() { return range(0, 255); }

    bool contains(uint8_t b) const { return (bits_[b >> 6] >> (b & 63)) & 1; }
    void add(uint8_t b) { bits_[b >> 6] |= uint64_t(1) << (b & 63); }
    void remove(uint8_t b) { bits_[b >> 6] &= ~(uint64_t(1) << (b & 63)); }
    ByteSet& operator|=(const ByteSet& other);
    ByteSet complement() const;
    bool empty() const { return (bits_[0] | bits_[1] | bits_[2] | bits_[3]) == 0; }
    bool operator==(const ByteSet&) const = default;

private:
    std::array<uint64_t, 4> bits_{};
};

struct Symbol {
    enum class Kind : uint8_t { kBytes, kRule };
    Kind kind;
    uint32_t index;  // into Grammar::byte_sets or Grammar::rules
};

using Sequence = std::vector<Symbol>;  // empty: matches the empty string

struct Rule {
    std::string name;  // for messages and dumps (the schema compiler uses schema paths)
    std::vector<Sequence> alternatives;
    bool defined = false;
};

// A grammar that is not usable: left recursion, an undefined rule, a bad root. rule() names
// the rule at fault when there is one.
class GrammarError : public std::runtime_error {
public:
    explicit GrammarError(const std::string& message, std::string rule = {})
        : std::runtime_error(message), rule_(std::move(rule)) {}
    const std::string& rule() const { return rule_; }

private:
    std::string rule_;
};

struct Grammar {
    std::vector<ByteSet> byte_sets;
    std::vector<Rule> rules;
    uint32_t root = 0;

    // Throws GrammarError when the matcher could not run this grammar: a rule declared but not
    // defined, or a rule that can reach itself without consuming a byte (left recursion).
    void validate() const;
    // GBNF-like text, one rule a line; for tests and debugging.
    std::string to_string() const;
};

// Builds a Grammar bottom-up. Every combinator returns a symbol standing for what it built;
// sequences and alternations become rules of their own.
class GrammarBuilder {
public:
    Symbol bytes(const ByteSet& set);
    Symbol literal(std::string_view text);  // the empty text gives empty()
    Symbol empty();
    Symbol seq(const Sequence& symbols, std::string_view name = "seq");
    Symbol alt(const std::vector<Sequence>& alternatives, std::string_view name = "alt");
    Symbol optional(Symbol x) { return repeat(x, 0, 1); }
    Symbol star(Symbol x) { return repeat(x, 0, -1); }
    Symbol plus(Symbol x) { return repeat(x, 1, -1); }
    // x at least min and at most max times (max < 0: unbounded). Throws GrammarError when x
    // can match the empty string, which would make the loop consume nothing.
    Symbol repeat(Symbol x, int min, int max);

    // For recursion (JSON schema $ref): declare first, define once the body is built.
    Symbol declare(std::string_view name);
    void define(Symbol rule, std::vector<Sequence> alternatives);

    // The symbol built by make() the first time key is asked for: rules used in many places
    // (whitespace, a JSON string) exist once, so the automaton's states for them are shared.
    Symbol shared(const std::string& key, const std::function<Symbol()>& make);

    bool nullable(Symbol x) const;  // rules not defined yet count as not nullable
    Grammar build(Symbol root) &&;  // validates

private:
    Grammar g_;
    std::map<std::string, Symbol> shared_;
};

}  // namespace ms::grammar
