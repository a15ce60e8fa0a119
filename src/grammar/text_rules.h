// Byte-level building blocks for text: UTF-8 characters, which both regexes and JSON strings
// need as sequences of byte sets.
#pragma once
#include "grammar/grammar.h"

namespace ms::grammar {

// Any well-formed UTF-8 character of two to four bytes (no surrogates, nothing past U+10FFFF).
Symbol utf8_non_ascii(GrammarBuilder& b);

// The UTF-8 bytes of a code point (no check for surrogates).
std::string utf8_encode(uint32_t code_point);

}  // namespace ms::grammar
