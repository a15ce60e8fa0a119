#include "grammar/text_rules.h"

namespace ms::grammar {

Symbol utf8_non_ascii(GrammarBuilder& b) {
    return b.shared("utf8_non_ascii", [&] {
        const auto r = [&](uint8_t lo, uint8_t hi) { return b.bytes(ByteSet::range(lo, hi)); };
        const Symbol tail = r(0x80, 0xBF);
        // The table of well-formed sequences in the Unicode standard (Table 3-7).
        return b.alt({{r(0xC2, 0xDF), tail},
                      {r(0xE0, 0xE0), r(0xA0, 0xBF), tail},
                      {r(0xE1, 0xEC), tail, tail},
                      {r(0xED, 0xED), r(0x80, 0x9F), tail},
                      {r(0xEE, 0xEF), tail, tail},
                      {r(0xF0, 0xF0), r(0x90, 0xBF), tail, tail},
                      {r(0xF1, 0xF3), tail, tail, tail},
                      {r(0xF4, 0xF4), r(0x80, 0x8F), tail, tail}},
                     "utf8_non_ascii");
    });
}

std::string utf8_encode(uint32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
    return out;
}

}  // namespace ms::grammar
