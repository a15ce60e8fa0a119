// The vocabulary as read from GGUF metadata, shared by the SentencePiece and BPE tokenizers
// (private to the module).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokenizer/vocab.h"

namespace ms::gguf {
class File;
}

namespace ms::tok {

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

// Attributes are flags rather than the stored type because a token can gain Control on top
// of its type (llama.cpp does this for end-of-turn texts stored as normal tokens).
enum TokenAttr : uint8_t {
    kAttrNormal = 1,
    kAttrUnknown = 2,
    kAttrControl = 4,
    kAttrUserDefined = 8,
    kAttrUnused = 16,
    kAttrByte = 32,
};

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

enum class VocabKind { SentencePiece, BytePairs };

struct TokenTable {
    VocabKind kind = VocabKind::SentencePiece;
    std::vector<std::string> texts;
    std::vector<float> scores;
    std::vector<uint8_t> attrs;
    std::unordered_map<std::string, Token, StringHash, std::equal_to<>> ids;

    Token bos = -1;
    Token eos = -1;
    Token unk = -1;
    bool add_bos = false;
    std::unordered_set<Token> end_of_generation;
    // Control, user-defined and unknown tokens, longest text first: the order in which
    // their texts are cut out of the input.
    std::vector<Token> specials_longest_first;

    // Reads tokens, scores, types and special ids; add_bos_default applies when the file
    // has no tokenizer.ggml.add_bos_token.
    static TokenTable from_gguf(const gguf::File& file, VocabKind kind, bool add_bos_default);

    std::optional<Token> find(std::string_view text) const;
    bool has(Token id, TokenAttr attr) const { return (attrs[id] & attr) != 0; }
    // The byte a <0xXX> token stands for.
    uint8_t byte_value(Token id) const;
};

}  // namespace ms::tok
