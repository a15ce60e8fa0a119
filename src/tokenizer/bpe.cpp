// Byte-level BPE vocabulary (tokenizer.ggml.model = "gpt2"): the text is split into words by
// the pre-tokenizer, each word's bytes are spelled with GPT-2's printable byte symbols, and
// neighbouring symbols merge in the order of tokenizer.ggml.merges.
#include <array>
#include <queue>

#include "gguf/gguf.h"
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

struct Symbol {
    size_t start;
    size_t length;
    int prev;
    int next;
};

struct Candidate {
    int32_t rank;
    int left;
    int right;
    size_t length;
};

// Lowest rank first; on ties the leftmost pair.
struct LowerPriority {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

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
    std::vector<Symbol> symbols;
    for (size_t pos = 0; pos < word.size();) {
        const size_t length = std::min(utf8::sequence_length(word[pos]), word.size() - pos);
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({pos, length, index - 1, pos + length < word.size() ? index + 1 : -1});
        pos += length;
    }
    if (symbols.empty()) return;

    const std::string_view text(word);
    std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
    const auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols[left];
        const Symbol& r = symbols[right];
        if (auto found = rank(text.substr(l.start, l.length), text.substr(r.start, r.length))) {
            queue.push({*found, left, right, l.length + r.length});
        }
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) consider(i - 1, i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& left = symbols[c.left];
        Symbol& right = symbols[c.right];
        if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) {
            continue;  // stale: one side was merged elsewhere since
        }
        left.length += right.length;
        right.length = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = c.left;
        consider(left.prev, c.left);
        consider(c.left, left.next);
    }

    for (int i = 0; i >= 0; i = symbols[i].next) {
        emit(text.substr(symbols[i].start, symbols[i].length), out);
    }
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
