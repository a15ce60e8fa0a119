// Grammar pieces for JSON text (RFC 8259) shared by the schema compiler and json_object mode:
// whitespace, strings, numbers, and any value. Each is built once per grammar.
#pragma once
#include "grammar/grammar.h"

namespace ms::grammar {

struct JsonStyle {
    // Whitespace allowed at each place JSON allows it (after { [ , : and before } ]), in bytes;
    // < 0: unbounded. Bounded whitespace keeps a model from padding forever.
    int max_whitespace = 1;
};

Symbol json_ws(GrammarBuilder& b, const JsonStyle& style);
// A quoted string of min_chars to max_chars characters (max < 0: unbounded); an escape
// sequence counts as one character.
Symbol json_string(GrammarBuilder& b, int min_chars = 0, int max_chars = -1);
Symbol json_number(GrammarBuilder& b);    // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
Symbol json_integer(GrammarBuilder& b);   // -?(0|[1-9][0-9]*)
Symbol json_fraction(GrammarBuilder& b);  // .[0-9]+
Symbol json_any_value(GrammarBuilder& b, const JsonStyle& style);
Symbol json_any_object(GrammarBuilder& b, const JsonStyle& style);

// open ws (first (ws "," ws first)* ws)? close, with min..max items (max < 0: unbounded).
Symbol json_list(GrammarBuilder& b, const JsonStyle& style, char open, Symbol item, char close,
                 int min_items = 0, int max_items = -1);

// The whole grammar for response_format json_object: any JSON object.
Grammar json_object_grammar(const JsonStyle& style = {});

}  // namespace ms::grammar
