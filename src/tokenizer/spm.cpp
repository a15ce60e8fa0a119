// SentencePiece-style vocabulary (tokenizer.ggml.model = "llama"): spaces become U+2581 and
// neighbouring symbols merge, highest token score first, as llama.cpp's SPM tokenizer does.
#include <array>

#include "gguf/gguf.h"
#include "tokenizer/merge_neighbours.h"
#include "tokenizer/table_vocab.h"

namespace ms::tok {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    for (size_t at = text.find(from); at != std::string_view::npos; at = text.find(from, pos)) {
        out.append(text.substr(pos, at - pos)).append(to);
        pos = at + from.size();
    }
    out.append(text.substr(pos));
    return out;
}

class SentencePieceVocab final : public TableVocab {
public:
    SentencePieceVocab(TokenTable table, bool add_space_prefix)
        : TableVocab(std::move(table)), add_space_prefix_(add_space_prefix) {
        for (int b = 0; b < 256; ++b) byte_tokens_[b] = find_byte_token(static_cast<uint8_t>(b));
    }

private:
    void encode_text(std::string_view text, bool follows_special,
                     std::vector<Token>& out) const override;
    std::string normal_piece(std::string_view text) const override {
        return replace_all(text, kSpaceSymbol, " ");
    }

    Token find_byte_token(uint8_t byte) const;
    void emit(std::string_view symbol, std::vector<Token>& out) const;

    bool add_space_prefix_;
    std::array<Token, 256> byte_tokens_{};
};

Token SentencePieceVocab::find_byte_token(uint8_t byte) const {
    static constexpr char kHex[] = "0123456789ABCDEF";
    const char name[] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
    if (auto id = find(std::string_view(name, sizeof name))) return *id;
    if (auto id = find(std::string_view(reinterpret_cast<const char*>(&byte), 1))) return *id;
    return table().unk;
}

// A symbol that is no token is spelled with byte tokens (UNK when the vocabulary has none).
void SentencePieceVocab::emit(std::string_view symbol, std::vector<Token>& out) const {
    if (auto id = find(symbol)) {
        out.push_back(*id);
        return;
    }
    for (char c : symbol) {
        const Token byte = byte_tokens_[static_cast<uint8_t>(c)];
        if (byte >= 0) out.push_back(byte);
    }
}

void SentencePieceVocab::encode_text(std::string_view text, bool follows_special,
                                     std::vector<Token>& out) const {
    std::string prefixed(add_space_prefix_ && follows_special ? " " : "");
    prefixed.append(text);
    const std::string escaped = replace_all(prefixed, " ", kSpaceSymbol);

    // Two symbols merge when together they are a token; the better its score, the sooner.
    const auto score = [&](std::string_view left, std::string_view right) {
        const auto id = find(std::string_view(left.data(), left.size() + right.size()));
        return id ? std::optional<double>(table().scores[*id]) : std::nullopt;
    };
    for (std::string_view symbol : merge_neighbours(escaped, score)) emit(symbol, out);
}

}  // namespace

std::unique_ptr<Vocab> make_sentencepiece_vocab(const gguf::File& file) {
    TokenTable table = TokenTable::from_gguf(file, VocabKind::SentencePiece, true);
    const bool add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", true);
    return std::make_unique<SentencePieceVocab>(std::move(table), add_space_prefix);
}

}  // namespace ms::tok
