// UTF-8 helpers shared by the tokenizers and the streaming detokenizer (private to the module).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ms::tok::utf8 {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Length of the sequence a byte starts, judged by its high bits alone the way llama.cpp
// splits text into symbols (continuation bytes count as 1).
size_t sequence_length(uint8_t lead);

// Code points as llama.cpp reads them: bit patterns are checked, but overlong forms,
// surrogates and values above U+10FFFF pass; a byte that starts no sequence becomes U+FFFD.
std::vector<uint32_t> decode_lenient(std::string_view text);

// Appends the encoding of cp (surrogates are encoded as they are; cp > U+10FFFF as U+FFFD).
void append(std::string& out, uint32_t cp);

// Strict, per the Unicode standard: well-formed sequences, each maximal ill-formed part
// replaced by one U+FFFD.
struct Step {
    enum Kind { Valid, Invalid, Truncated } kind;
    size_t length;  // bytes consumed (Truncated: the rest of the text, a prefix of a valid char)
};
Step next_char(std::string_view text, size_t pos);

// The longest prefix of text that does not end inside a character that later bytes could
// still complete.
size_t complete_prefix_length(std::string_view text);

// text with every ill-formed part replaced by U+FFFD.
std::string sanitize(std::string_view text);

}  // namespace ms::tok::utf8
