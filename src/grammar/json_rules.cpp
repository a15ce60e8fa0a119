#include "grammar/json_rules.h"

#include <string>

#include "grammar/text_rules.h"

namespace ms::grammar {

Symbol json_ws(GrammarBuilder& b, const JsonStyle& style) {
    return b.shared("ws" + std::to_string(style.max_whitespace), [&] {
        ByteSet space;
        for (char c : std::string_view(" \t\n\r")) space.add(uint8_t(c));
        if (style.max_whitespace == 0) return b.empty();
        return b.repeat(b.bytes(space), 0, style.max_whitespace);
    });
}

namespace {

Symbol string_char(GrammarBuilder& b) {
    return b.shared("string_char", [&] {
        ByteSet plain = ByteSet::range(0x20, 0x7F);
        plain.remove('"');
        plain.remove('\\');
        ByteSet escaped;
        for (char c : std::string_view("\"\\/bfnrt")) escaped.add(uint8_t(c));
        ByteSet hex = ByteSet::range('0', '9');
        hex |= ByteSet::range('a', 'f');
        hex |= ByteSet::range('A', 'F');
        const Symbol h = b.bytes(hex);
        const Symbol backslash = b.literal("\\");
        return b.alt({{b.bytes(plain)},
                      {utf8_non_ascii(b)},
                      {backslash, b.bytes(escaped)},
                      {backslash, b.literal("u"), h, h, h, h}},
                     "string_char");
    });
}

}  // namespace

Symbol json_string(GrammarBuilder& b, int min_chars, int max_chars) {
    const std::string key = "string" + std::to_string(min_chars) + "_" + std::to_string(max_chars);
    return b.shared(key, [&] {
        const Symbol quote = b.literal("\"");
        return b.seq({quote, b.repeat(string_char(b), min_chars, max_chars), quote}, "string");
    });
}

Symbol json_integer(GrammarBuilder& b) {
    return b.shared("integer", [&] {
        const Symbol digits = b.star(b.bytes(ByteSet::range('0', '9')));
        const Symbol magnitude =
            b.alt({{b.literal("0")}, {b.bytes(ByteSet::range('1', '9')), digits}}, "magnitude");
        return b.seq({b.optional(b.literal("-")), magnitude}, "integer");
    });
}

Symbol json_fraction(GrammarBuilder& b) {
    return b.shared("fraction", [&] {
        return b.seq({b.literal("."), b.plus(b.bytes(ByteSet::range('0', '9')))}, "fraction");
    });
}

Symbol json_number(GrammarBuilder& b) {
    return b.shared("number", [&] {
        ByteSet e, sign;
        e.add('e');
        e.add('E');
        sign.add('+');
        sign.add('-');
        const Symbol exponent = b.seq(
            {b.bytes(e), b.optional(b.bytes(sign)), b.plus(b.bytes(ByteSet::range('0', '9')))},
            "exponent");
        return b.seq({json_integer(b), b.optional(json_fraction(b)), b.optional(exponent)},
                     "number");
    });
}

Symbol json_list(GrammarBuilder& b, const JsonStyle& style, char open, Symbol item, char close,
                 int min_items, int max_items) {
    const Symbol ws = json_ws(b, style);
    const Symbol open_s = b.literal(std::string(1, open));
    const Symbol close_s = b.literal(std::string(1, close));
    std::vector<Sequence> alternatives;
    if (min_items == 0) alternatives.push_back({open_s, ws, close_s});
    if (max_items != 0) {
        const Symbol more = b.seq({ws, b.literal(","), ws, item}, "next_item");
        const Symbol rest =
            b.repeat(more, std::max(min_items - 1, 0), max_items < 0 ? -1 : max_items - 1);
        alternatives.push_back({open_s, ws, item, rest, ws, close_s});
    }
    return b.alt(alternatives, open == '{' ? "object" : "array");
}

Symbol json_any_value(GrammarBuilder& b, const JsonStyle& style) {
    return b.shared("value" + std::to_string(style.max_whitespace), [&] {
        const Symbol value = b.declare("value");
        const Symbol member =
            b.seq({json_string(b), json_ws(b, style), b.literal(":"), json_ws(b, style), value},
                  "member");
        b.define(value, {{json_list(b, style, '{', member, '}')},
                         {json_list(b, style, '[', value, ']')},
                         {json_string(b)},
                         {json_number(b)},
                         {b.literal("true")},
                         {b.literal("false")},
                         {b.literal("null")}});
        return value;
    });
}

Symbol json_any_object(GrammarBuilder& b, const JsonStyle& style) {
    const Symbol member = b.seq({json_string(b), json_ws(b, style), b.literal(":"),
                                 json_ws(b, style), json_any_value(b, style)},
                                "member");
    return json_list(b, style, '{', member, '}');
}

Grammar json_object_grammar(const JsonStyle& style) {
    GrammarBuilder b;
    return std::move(b).build(json_any_object(b, style));
}

}  // namespace ms::grammar
