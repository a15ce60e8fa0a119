#include "grammar/regex.h"

#include <cctype>
#include <optional>
#include <vector>

#include "grammar/text_rules.h"

namespace ms::grammar {
namespace {

// A character class: a set of ASCII (or raw) bytes, whether every non-ASCII character is in,
// and non-ASCII characters listed one by one.
struct CharClass {
    ByteSet bytes;
    bool any_non_ascii = false;
    std::vector<std::string> non_ascii;
};

ByteSet ascii_class(char kind) {
    ByteSet s;
    switch (kind) {
        case 'd':
            s = ByteSet::range('0', '9');
            break;
        case 'w':
            s = ByteSet::range('0', '9');
            s |= ByteSet::range('a', 'z');
            s |= ByteSet::range('A', 'Z');
            s.add('_');
            break;
        case 's':
            for (char c : std::string_view(" \t\n\r\f\v")) s.add(uint8_t(c));
            break;
    }
    return s;
}

class RegexParser {
public:
    RegexParser(GrammarBuilder& b, std::string_view p, const RegexOptions& o)
        : b_(b), p_(p), options_(o) {}

    Symbol parse() {
        if (peek('^')) ++pos_;
        const Symbol s = alternation();
        if (pos_ < p_.size() && p_[pos_] == '$' && pos_ + 1 == p_.size()) ++pos_;
        if (pos_ < p_.size()) fail(p_[pos_] == ')' ? "unbalanced )" : "unexpected character");
        return s;
    }

private:
    [[noreturn]] void fail(const std::string& what) const { throw RegexError(what, pos_); }
    bool peek(char c) const { return pos_ < p_.size() && p_[pos_] == c; }
    bool at_end() const { return pos_ >= p_.size(); }
    char take() {
        if (at_end()) fail("unexpected end of pattern");
        return p_[pos_++];
    }

    Symbol alternation() {
        std::vector<Sequence> alternatives{{concatenation()}};
        while (peek('|')) {
            ++pos_;
            alternatives.push_back({concatenation()});
        }
        return alternatives.size() == 1 ? alternatives[0][0] : b_.alt(alternatives, "regex_alt");
    }

    Symbol concatenation() {
        Sequence parts;
        while (!at_end() && !peek('|') && !peek(')')) {
            if (peek('$') && pos_ + 1 == p_.size()) break;
            parts.push_back(quantified());
        }
        return parts.empty() ? b_.empty() : b_.seq(parts, "regex_seq");
    }

    Symbol quantified() {
        Symbol s = atom();
        while (!at_end()) {
            const size_t at = pos_;
            int min = 0, max = -1;
            if (peek('*')) {
                ++pos_;
            } else if (peek('+')) {
                ++pos_;
                min = 1;
            } else if (peek('?')) {
                ++pos_;
                max = 1;
            } else if (peek('{') && counted(min, max)) {
            } else {
                break;
            }
            if (peek('?')) ++pos_;  // lazy: the same language
            if (peek('+')) fail("possessive quantifiers are not supported");
            try {
                s = b_.repeat(s, min, max);
            } catch (const GrammarError& e) {
                throw RegexError(e.what(), at);
            }
        }
        return s;
    }

    // {n}, {n,}, {n,m}; false (nothing read) when the brace does not start a quantifier.
    bool counted(int& min, int& max) {
        const size_t start = pos_++;
        const auto number = [&]() -> std::optional<int> {
            if (at_end() || !std::isdigit(uint8_t(p_[pos_]))) return std::nullopt;
            long v = 0;
            while (!at_end() && std::isdigit(uint8_t(p_[pos_]))) {
                v = v * 10 + (p_[pos_++] - '0');
                if (v > options_.max_repeat) fail("repeat count above the limit");
            }
            return int(v);
        };
        const auto lo = number();
        if (!lo) {
            pos_ = start;
            return false;
        }
        min = max = *lo;
        if (peek(',')) {
            ++pos_;
            const auto hi = number();
            max = hi ? *hi : -1;
        }
        if (!peek('}')) fail("malformed {n,m}");
        ++pos_;
        if (max >= 0 && max < min) fail("{n,m} with m < n");
        return true;
    }

    Symbol atom() {
        const size_t at = pos_;
        const char c = take();
        switch (c) {
            case '(': {
                if (peek('?')) {
                    ++pos_;
                    if (peek(':')) {
                        ++pos_;
                    } else if (peek('<') && pos_ + 1 < p_.size() && p_[pos_ + 1] != '=' &&
                               p_[pos_ + 1] != '!') {
                        while (!peek('>')) take();  // a named group: the name does not matter
                        ++pos_;
                    } else {
                        fail("lookaround and inline flags are not supported");
                    }
                }
                const Symbol inner = alternation();
                if (!peek(')')) fail("missing )");
                ++pos_;
                return inner;
            }
            case '[':
                return char_class_symbol(bracket());
            case '.': {
                CharClass any{ByteSet::range(0, 0x7F), true, {}};
                any.bytes.remove('\n');
                return char_class_symbol(any);
            }
            case '\\':
                return escape_symbol();
            case '*':
            case '+':
            case '?':
                pos_ = at;
                fail("quantifier without anything to repeat");
            case '^':
            case '$':
                pos_ = at;
                fail("anchors are only supported at the start and end");
            case ')':
                pos_ = at;
                fail("unbalanced )");
            default:
                pos_ = at;
                return literal_character();
        }
    }

    // One character as written, all its UTF-8 bytes.
    Symbol literal_character() {
        const std::string bytes = utf8_character();
        CharClass cc;
        if (bytes.size() == 1)
            cc.bytes.add(uint8_t(bytes[0]));
        else
            cc.non_ascii.push_back(bytes);
        return char_class_symbol(cc);
    }

    std::string utf8_character() {
        const uint8_t lead = uint8_t(take());
        const size_t n = lead < 0x80 ? 0 : lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
        std::string out(1, char(lead));
        for (size_t i = 0; i < n; ++i) out += take();
        return out;
    }

    // After a backslash: \d \w \s and their negations, or one (escaped) character.
    CharClass escape_class() {
        const size_t at = pos_ - 1;
        const char c = take();
        CharClass cc;
        switch (c) {
            case 'd':
            case 'w':
            case 's':
                cc.bytes = ascii_class(c);
                return cc;
            case 'D':
            case 'W':
            case 'S':
                cc.bytes = ascii_class(char(c - 'A' + 'a')).complement();
                for (int x = 0x80; x < 256; ++x) cc.bytes.remove(uint8_t(x));
                cc.any_non_ascii = true;
                return cc;
            case 'b':
            case 'B':
                pos_ = at;
                fail("word boundaries are not supported");
        }
        if (std::isdigit(uint8_t(c))) {
            pos_ = at;
            fail("backreferences are not supported");
        }
        uint32_t cp = uint8_t(c);
        switch (c) {
            case 't':
                cp = '\t';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'v':
                cp = '\v';
                break;
            case 'x':
                cp = hex(2);
                break;
            case 'u':
                cp = hex(4);
                break;
            default:
                if (std::isalnum(uint8_t(c))) {
                    pos_ = at;
                    fail("unknown escape");
                }
                if (uint8_t(c) >= 0x80) {
                    --pos_;
                    cc.non_ascii.push_back(utf8_character());
                    return cc;
                }
        }
        if (cp < 0x80)
            cc.bytes.add(uint8_t(cp));
        else
            cc.non_ascii.push_back(utf8_encode(cp));
        return cc;
    }

    uint32_t hex(int digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            const char h = take();
            if (!std::isxdigit(uint8_t(h))) fail("bad hex escape");
            v = v * 16 +
                uint32_t(std::isdigit(uint8_t(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        if (v >= 0xD800 && v <= 0xDFFF) fail("surrogate code point");
        return v;
    }

    Symbol escape_symbol() { return char_class_symbol(escape_class()); }

    // [...] after the opening bracket.
    CharClass bracket() {
        CharClass cc;
        const bool negated = peek('^');
        if (negated) ++pos_;
        bool first = true;
        while (!peek(']') || first) {
            first = false;
            CharClass item = class_item();
            if (peek('-') && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
                ++pos_;
                CharClass hi = class_item();
                const auto single = [](const CharClass& x) -> std::optional<uint8_t> {
                    if (x.any_non_ascii || !x.non_ascii.empty()) return std::nullopt;
                    std::optional<uint8_t> found;
                    for (int b = 0; b < 256; ++b)
                        if (x.bytes.contains(uint8_t(b))) {
                            if (found) return std::nullopt;
                            found = uint8_t(b);
                        }
                    return found;
                };
                const auto lo_b = single(item), hi_b = single(hi);
                if (!lo_b || !hi_b) fail("ranges are supported between ASCII characters only");
                if (*lo_b > *hi_b) fail("range out of order");
                item.bytes = ByteSet::range(*lo_b, *hi_b);
            }
            cc.bytes |= item.bytes;
            cc.any_non_ascii = cc.any_non_ascii || item.any_non_ascii;
            cc.non_ascii.insert(cc.non_ascii.end(), item.non_ascii.begin(), item.non_ascii.end());
        }
        ++pos_;
        if (negated) {
            if (!cc.non_ascii.empty())
                fail("negated classes with non-ASCII characters are not supported");
            cc.any_non_ascii = !cc.any_non_ascii;
            cc.bytes = cc.bytes.complement();
            for (int x = 0x80; x < 256; ++x) cc.bytes.remove(uint8_t(x));
        }
        return cc;
    }

    CharClass class_item() {
        if (peek('\\')) {
            ++pos_;
            return escape_class();
        }
        if (peek('[') && pos_ + 1 < p_.size() && p_[pos_ + 1] == ':')
            fail("POSIX classes are not supported");
        CharClass cc;
        const std::string bytes = utf8_character();
        if (bytes.size() == 1)
            cc.bytes.add(uint8_t(bytes[0]));
        else
            cc.non_ascii.push_back(bytes);
        return cc;
    }

    Symbol char_class_symbol(CharClass cc) {
        if (options_.json_string_safe) {
            cc.bytes.remove('"');
            cc.bytes.remove('\\');
            for (int x = 0; x < 0x20; ++x) cc.bytes.remove(uint8_t(x));
        }
        std::vector<Sequence> alternatives;
        if (!cc.bytes.empty()) alternatives.push_back({b_.bytes(cc.bytes)});
        if (cc.any_non_ascii) alternatives.push_back({utf8_non_ascii(b_)});
        for (const auto& text : cc.non_ascii) alternatives.push_back({b_.literal(text)});
        // A class that matches nothing (e.g. only a quote in a JSON string) stays a dead end.
        if (alternatives.empty()) return b_.bytes(ByteSet{});
        if (alternatives.size() == 1) return alternatives[0][0];
        return b_.alt(alternatives, "regex_class");
    }

    GrammarBuilder& b_;
    std::string_view p_;
    const RegexOptions& options_;
    size_t pos_ = 0;
};

}  // namespace

Symbol add_regex(GrammarBuilder& builder, std::string_view pattern, const RegexOptions& options) {
    return RegexParser(builder, pattern, options).parse();
}

Grammar compile_regex(std::string_view pattern, const RegexOptions& options) {
    GrammarBuilder b;
    const Symbol root = add_regex(b, pattern, options);
    return std::move(b).build(root);
}

}  // namespace ms::grammar
