// Regular expressions (a subset, docs/grammar.md) compiled to the grammar IR. The whole text
// must match: a pattern is anchored at both ends whether or not it says ^ and $.
//
// Supported: literals (UTF-8 included), . (any character but \n), [...] and [^...] with
// ranges, \d \w \s \D \W \S, escapes \t \n \r \f \v \xHH \uHHHH and escaped punctuation,
// groups ( ) (?: ) (?<name> ), alternation |, quantifiers * + ? {n} {n,} {n,m} (lazy forms
// match the same text), ^ at the start and $ at the end.
// Not supported (an error): backreferences, lookaround, \b, anchors elsewhere, possessive
// quantifiers, non-ASCII ranges in classes, negated classes listing non-ASCII characters.
#pragma once
#include <stdexcept>
#include <string_view>

#include "grammar/grammar.h"

namespace ms::grammar {

class RegexError : public std::runtime_error {
public:
    RegexError(const std::string& message, size_t offset)
        : std::runtime_error(message + " at offset " + std::to_string(offset)), offset_(offset) {}
    size_t offset() const { return offset_; }

private:
    size_t offset_;
};

struct RegexOptions {
    // Leave out the bytes a JSON string may not hold raw (", \ and controls): the pattern of a
    // JSON schema string is matched by the raw bytes between the quotes.
    bool json_string_safe = false;
    int max_repeat = 1000;  // largest n or m in {n,m}: the grammar unrolls counted repeats
};

Grammar compile_regex(std::string_view pattern, const RegexOptions& options = {});
// Adds the pattern to a grammar under construction; returns its symbol. Throws RegexError.
Symbol add_regex(GrammarBuilder& builder, std::string_view pattern,
                 const RegexOptions& options = {});

}  // namespace ms::grammar
