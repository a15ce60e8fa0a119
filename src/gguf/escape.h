// Rendering of untrusted strings (keys, tensor names, values) for messages and listings.
#pragma once
#include <algorithm>
#include <string>
#include <string_view>

namespace ms::gguf {

// Escapes quotes, backslashes and non-printable bytes; cuts after max_bytes with "...".
inline std::string escaped(std::string_view s, size_t max_bytes = 64) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(s.size(), max_bytes) + 2);
    for (size_t i = 0; i < s.size() && i < max_bytes; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += char(c);  // UTF-8 continuation bytes pass through
        }
    }
    if (s.size() > max_bytes) out += "...";
    return out;
}

}  // namespace ms::gguf
