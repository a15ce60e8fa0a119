// What the SentencePiece and BPE vocabularies share: special-token splitting, BOS, pieces,
// end-of-generation (private to the module).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_table.h"
#include "tokenizer/vocab.h"

namespace ms::tok {

class TableVocab : public Vocab {
public:
    explicit TableVocab(TokenTable table) : table_(std::move(table)) {}

    std::vector<Token> encode(std::string_view text, std::optional<bool> add_bos,
                              bool parse_special) const final;
    std::vector<Token> encode_segments(std::span<const TextSegment> segments,
                                       std::optional<bool> add_bos) const final;
    std::string token_to_piece(Token id, bool render_special) const final;

    int32_t n_tokens() const final { return static_cast<int32_t>(table_.texts.size()); }
    std::string_view token_text(Token id) const final;
    Token bos() const final { return table_.bos; }
    Token eos() const final { return table_.eos; }
    bool is_end_of_generation(Token id) const final;
    bool add_bos_default() const final { return table_.add_bos; }
    std::optional<Token> find(std::string_view token_text) const final;

protected:
    const TokenTable& table() const { return table_; }
    // Encodes text that holds no special token. follows_special: the text starts the input
    // or comes right after a special token.
    virtual void encode_text(std::string_view text, bool follows_special,
                             std::vector<Token>& out) const = 0;
    // The bytes a normal token's text stands for.
    virtual std::string normal_piece(std::string_view text) const = 0;

private:
    struct Fragment {
        std::string_view text;
        Token special = -1;          // >= 0: the fragment is this special token
        bool parse_special = false;  // text in which control-token texts are tokens
    };
    // fragments: views of one text, in order.
    std::vector<Token> encode_fragments(std::vector<Fragment> fragments,
                                        std::optional<bool> add_bos) const;
    void split_on_specials(std::vector<Fragment>& fragments) const;
    void check_id(Token id) const;

    TokenTable table_;
};

std::unique_ptr<Vocab> make_sentencepiece_vocab(const gguf::File& file);
std::unique_ptr<Vocab> make_byte_pair_vocab(const gguf::File& file);

}  // namespace ms::tok
