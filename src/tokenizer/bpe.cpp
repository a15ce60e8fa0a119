// Byte-level BPE vocabulary (tokenizer.ggml.model = "gpt2"): the text is split into words by
// the pre-tokenizer, each word's bytes are spelled with GPT-2's printable byte symbols, and
// neighbouring symbols merge in the order of tokenizer.ggml.merges.
#include <array>

#include "gguf/gguf.h"
#include "tokenizer/merge_neighbours.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/table_vocab.h"
#include "tokenizer/utf8.h"

namespace ms::tok {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
// for U+0100 upwards in byte order.
class ByteSymbols {
public:
    ByteSymbols() {
        uint32_t next_extra = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? b : next_extra++;
            utf8::append(symbol_[b], cp);
            byte_of_[cp] = static_cast<int16_t>(b);
        }
    }
    const std::string& symbol(uint8_t byte) const { return symbol_[byte]; }
    // -1 when cp stands for no byte.
    int byte(uint32_t cp) const { return cp < byte_of_.size() ? byte_of_[cp] : -1; }

private:
    std::array<std::string, 256> symbol_;
    std::array<int16_t, 256 + 68> byte_of_{};
};

const ByteSymbols& byte_symbols() {
    static const ByteSymbols symbols;
    return symbols;
}

using MergeRanks = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BytePairVocab final : public TableVocab {
public:
    BytePairVocab(TokenTable table, MergeRanks ranks, PreTokenizer pre, bool ignore_merges)
        : TableVocab(std::move(table)),
          ranks_(std::move(ranks)),
          pre_(std::move(pre)),
          ignore_merges_(ignore_merges) {}

private:
    void encode_text(std::string_view text, bool, std::vector<Token>& out) const override {
        for (const std::string& word : pre_.split(text)) encode_word(spell_bytes(word), out);
    }
    std::string normal_piece(std::string_view text) const override;

    static std::string spell_bytes(std::string_view word);
    void encode_word(const std::string& word, std::vector<Token>& out) const;
    void emit(std::string_view symbol, std::vector<Token>& out) const;
    std::optional<int32_t> rank(std::string_view left, std::string_view right) const;

    MergeRanks ranks_;  // key: "left right", as the merges are stored
    PreTokenizer pre_;
    bool ignore_merges_;
};

std::string BytePairVocab::spell_bytes(std::string_view word) {
    std::string spelled;
    for (char c : word) spelled += byte_symbols().symbol(static_cast<uint8_t>(c));
    return spelled;
}

std::string BytePairVocab::normal_piece(std::string_view text) const {
    std::string bytes;
    for (uint32_t cp : utf8::decode_lenient(text)) {
        const int byte = byte_symbols().byte(cp);
        if (byte >= 0) {
            bytes += static_cast<char>(byte);
        } else {
            utf8::append(bytes, cp);  // not a byte symbol: keep the character itself
        }
    }
    return bytes;
}

std::optional<int32_t> BytePairVocab::rank(std::string_view left, std::string_view right) const {
    thread_local std::string key;
    key.assign(left).append(" ").append(right);
    const auto it = ranks_.find(key);
    if (it == ranks_.end()) return std::nullopt;
    return it->second;
}

// A final symbol that is no token falls back to single-byte tokens where they exist.
void BytePairVocab::emit(std::string_view symbol, std::vector<Token>& out) const {
    if (auto id = find(symbol)) {
        out.push_back(*id);
        return;
    }
    for (size_t i = 0; i < symbol.size(); ++i) {
        if (auto id = find(symbol.substr(i, 1))) out.push_back(*id);
    }
}

void BytePairVocab::encode_word(const std::string& word, std::vector<Token>& out) const {
    if (ignore_merges_) {
        if (auto id = find(word)) {
            out.push_back(*id);
            return;
        }
    }
    // Lower ranks merge first.
    const auto priority = [&](std::string_view left, std::string_view right) {
        const auto r = rank(left, right);
        return r ? std::optional<double>(-*r) : std::nullopt;
    };
    for (std::string_view symbol : merge_neighbours(word, priority)) emit(symbol, out);
}

// "left right" per entry; an entry without an inner space is ignored (llama.cpp maps it to
// an empty pair that never matches).
MergeRanks read_merges(const gguf::File& file) {
    const auto& merges = file.get_string_array("tokenizer.ggml.merges");
    MergeRanks ranks;
    ranks.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        if (merges[i].find(' ', 1) == std::string::npos) continue;
        ranks.emplace(merges[i], static_cast<int32_t>(i));  // the first of duplicates wins
    }
    return ranks;
}

}  // namespace

std::unique_ptr<Vocab> make_byte_pair_vocab(const gguf::File& file) {
    const std::string pre = file.get_string("tokenizer.ggml.pre", "default");
    auto spec = pre_tokenizer_spec(pre);
    if (!spec) throw std::runtime_error("unsupported tokenizer.ggml.pre '" + pre + "'");
    TokenTable table = TokenTable::from_gguf(file, VocabKind::BytePairs, spec->add_bos);
    return std::make_unique<BytePairVocab>(std::move(table), read_merges(file),
                                           PreTokenizer(spec->patterns), spec->ignore_merges);
}

}  // namespace ms::tok
