#include "tokenizer/utf8.h"

namespace ms::tok::utf8 {
namespace {

bool is_continuation(uint8_t b) {
    return (b & 0xC0) == 0x80;
}

// Continuation bytes a lead byte needs and the range its first continuation must fall in
// (narrowed for E0, ED, F0, F4 to exclude overlong forms, surrogates and > U+10FFFF).
struct LeadRule {
    int continuations;  // -1: not a lead byte
    uint8_t low = 0x80;
    uint8_t high = 0xBF;
};

LeadRule lead_rule(uint8_t b) {
    if (b >= 0xC2 && b <= 0xDF) return {1};
    if (b == 0xE0) return {2, 0xA0, 0xBF};
    if (b == 0xED) return {2, 0x80, 0x9F};
    if (b >= 0xE1 && b <= 0xEF) return {2};
    if (b == 0xF0) return {3, 0x90, 0xBF};
    if (b >= 0xF1 && b <= 0xF3) return {3};
    if (b == 0xF4) return {3, 0x80, 0x8F};
    return {-1};
}

// One code point in llama.cpp's lenient reading; returns false when text[pos] starts none.
bool decode_one_lenient(std::string_view text, size_t& pos, uint32_t& cp) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
    const uint8_t lead = byte(0);
    if (lead < 0x80) {
        cp = lead;
        pos += 1;
        return true;
    }
    int n = 0;
    if ((lead & 0xE0) == 0xC0) {
        n = 1;
        cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        n = 2;
        cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        n = 3;
        cp = lead & 0x07;
    } else {
        return false;
    }
    if (pos + n >= text.size()) return false;
    for (int i = 1; i <= n; ++i) {
        if (!is_continuation(byte(i))) return false;
        cp = (cp << 6) | (byte(i) & 0x3F);
    }
    pos += n + 1;
    return true;
}

}  // namespace

size_t sequence_length(uint8_t lead) {
    static constexpr uint8_t kByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kByHighNibble[lead >> 4];
}

std::vector<uint32_t> decode_lenient(std::string_view text) {
    std::vector<uint32_t> cps;
    cps.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        uint32_t cp = 0;
        if (decode_one_lenient(text, pos, cp)) {
            cps.push_back(cp);
        } else {
            cps.push_back(kReplacementChar);
            ++pos;
        }
    }
    return cps;
}

void append(std::string& out, uint32_t cp) {
    if (cp > 0x10FFFF) cp = kReplacementChar;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

Step next_char(std::string_view text, size_t pos) {
    const auto lead = static_cast<uint8_t>(text[pos]);
    if (lead < 0x80) return {Step::Valid, 1};
    const LeadRule rule = lead_rule(lead);
    if (rule.continuations < 0) return {Step::Invalid, 1};
    for (int i = 1; i <= rule.continuations; ++i) {
        if (pos + i >= text.size()) return {Step::Truncated, text.size() - pos};
        const auto b = static_cast<uint8_t>(text[pos + i]);
        const uint8_t low = i == 1 ? rule.low : 0x80;
        const uint8_t high = i == 1 ? rule.high : 0xBF;
        if (b < low || b > high) return {Step::Invalid, static_cast<size_t>(i)};
    }
    return {Step::Valid, static_cast<size_t>(rule.continuations) + 1};
}

size_t complete_prefix_length(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        const Step step = next_char(text, pos);
        if (step.kind == Step::Truncated) return pos;
        pos += step.length;
    }
    return pos;
}

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const Step step = next_char(text, pos);
        if (step.kind == Step::Valid) {
            out.append(text.substr(pos, step.length));
        } else {
            append(out, kReplacementChar);
        }
        pos += step.length;
    }
    return out;
}

}  // namespace ms::tok::utf8
