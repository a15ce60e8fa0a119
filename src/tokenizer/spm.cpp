// SentencePiece-style vocabulary (tokenizer.ggml.model = "llama"): spaces become U+2581 and
// neighbouring symbols merge, highest token score first, as llama.cpp's SPM tokenizer does.
#include <array>
#include <queue>

#include "gguf/gguf.h"
#include "tokenizer/table_vocab.h"
#include "tokenizer/utf8.h"

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

// A run of the input, linked to its neighbours; merged-away symbols keep length 0.
struct Symbol {
    size_t start;
    size_t length;
    int prev;
    int next;
};

struct Candidate {
    float score;
    int left;
    int right;
    size_t length;  // of the merged text, to notice when a side changed since
};

// Highest score first; on ties the leftmost pair.
struct LowerPriority {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

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

    std::vector<Symbol> symbols;
    for (size_t pos = 0; pos < escaped.size();) {
        const size_t length = std::min(utf8::sequence_length(escaped[pos]), escaped.size() - pos);
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({pos, length, index - 1, pos + length < escaped.size() ? index + 1 : -1});
        pos += length;
    }
    if (symbols.empty()) return;

    std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
    const auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const size_t length = symbols[left].length + symbols[right].length;
        if (auto id = find(std::string_view(escaped).substr(symbols[left].start, length))) {
            queue.push({table().scores[*id], left, right, length});
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
        emit(std::string_view(escaped).substr(symbols[i].start, symbols[i].length), out);
    }
}

}  // namespace

std::unique_ptr<Vocab> make_sentencepiece_vocab(const gguf::File& file) {
    TokenTable table = TokenTable::from_gguf(file, VocabKind::SentencePiece, true);
    const bool add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", true);
    return std::make_unique<SentencePieceVocab>(std::move(table), add_space_prefix);
}

}  // namespace ms::tok
