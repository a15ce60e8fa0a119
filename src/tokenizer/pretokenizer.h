// Splits text into words before byte-level BPE, with the regular expressions llama.cpp uses
// for each tokenizer.ggml.pre value (private to the module). PCRE2 runs them with Unicode
// properties (\p{L}, \p{N}) and lookahead.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ms::tok {

struct PreTokenizerSpec {
    std::vector<std::string> patterns;  // applied in turn, each to the pieces of the last
    bool ignore_merges = false;         // a word that is a token is emitted whole
    bool add_bos = false;               // default for tokenizer.ggml.add_bos_token
};

// nullopt for a name this module does not support.
std::optional<PreTokenizerSpec> pre_tokenizer_spec(std::string_view name);

class PreTokenizer {
public:
    explicit PreTokenizer(const std::vector<std::string>& patterns);  // throws on a bad pattern
    PreTokenizer(PreTokenizer&&) noexcept;
    ~PreTokenizer();

    // Words of text, read the way llama.cpp reads it: each byte that starts no UTF-8
    // sequence becomes U+FFFD. Unmatched runs between matches are words too.
    std::vector<std::string> split(std::string_view text) const;

private:
    class Pattern;
    std::vector<std::unique_ptr<Pattern>> patterns_;
};

}  // namespace ms::tok
