// A vocabulary without a model file: token i < 256 is byte i, then BOS and an end token
// "<|end|>". Enough to drive prompt building, detokenization and stop strings in tests and
// in the fuzz target.
#pragma once
#include <string>

#include "tokenizer/vocab.h"

namespace ms::server::testing {

class ByteVocab : public tok::Vocab {
public:
    static constexpr tok::Token bos_id = 256;
    static constexpr tok::Token end_id = 257;

    std::vector<tok::Token> encode(std::string_view text, std::optional<bool> add_bos,
                                   bool parse_special) const override {
        std::vector<tok::Token> ids;
        if (add_bos.value_or(add_bos_default())) ids.push_back(bos_id);
        for (size_t i = 0; i < text.size(); ++i) {
            if (parse_special && text.substr(i).starts_with(end_text)) {
                ids.push_back(end_id);
                i += end_text.size() - 1;
            } else {
                ids.push_back(static_cast<unsigned char>(text[i]));
            }
        }
        return ids;
    }
    // Bytes have no merges, so encoding segment by segment is encoding the joined text.
    std::vector<tok::Token> encode_segments(std::span<const tok::TextSegment> segments,
                                            std::optional<bool> add_bos) const override {
        std::vector<tok::Token> ids = encode("", add_bos, false);
        for (const auto& segment : segments) {
            const auto part = encode(segment.text, false, segment.parse_special);
            ids.insert(ids.end(), part.begin(), part.end());
        }
        return ids;
    }
    std::string token_to_piece(tok::Token id, bool render_special) const override {
        if (id < 256) return std::string(1, char(id));
        return render_special ? std::string(token_text(id)) : std::string();
    }
    int32_t n_tokens() const override { return 258; }
    std::string_view token_text(tok::Token id) const override {
        return id == bos_id ? "<s>" : id == end_id ? end_text : "";
    }
    tok::Token bos() const override { return bos_id; }
    tok::Token eos() const override { return end_id; }
    bool is_end_of_generation(tok::Token id) const override { return id == end_id; }
    bool add_bos_default() const override { return true; }
    std::optional<tok::Token> find(std::string_view text) const override {
        if (text == end_text) return end_id;
        return std::nullopt;
    }

    // Token ids of text, one per byte.
    static std::vector<tok::Token> bytes(std::string_view text) {
        std::vector<tok::Token> ids;
        for (const char c : text) ids.push_back(static_cast<unsigned char>(c));
        return ids;
    }

private:
    static constexpr std::string_view end_text = "<|end|>";
};

}  // namespace ms::server::testing
