#include "tokenizer/token_table.h"

#include <algorithm>
#include <span>
#include <stdexcept>

#include "gguf/gguf.h"

namespace ms::tok {
namespace {

uint8_t attr_of_type(int64_t type) {
    switch (static_cast<TokenType>(type)) {
        case TokenType::Normal:
            return kAttrNormal;
        case TokenType::Unknown:
            return kAttrUnknown;
        case TokenType::Control:
            return kAttrControl;
        case TokenType::UserDefined:
            return kAttrUserDefined;
        case TokenType::Unused:
            return kAttrUnused;
        case TokenType::Byte:
            return kAttrByte;
        default:
            return 0;
    }
}

// Texts that end a turn in the model families llama.cpp knows; it treats them as control
// tokens that end generation whatever their stored type.
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>",      "<|im_end|>",         "<|end|>",    "<|return|>", "<|call|>",
    "<end_of_turn>",   "<|endoftext|>",      "<|eom_id|>", "<EOT>",      "_<EOT>",
    "<|end_of_text|>", "<end_of_utterance>", "</s>",       "<eos>",      "<｜end▁of▁sentence｜>",
};

// llama.cpp also ends generation at fill-in-the-middle padding, repository and file separators.
constexpr std::string_view kFillInTheMiddleBoundaryTexts[] = {
    "<|fim_pad|>",   "<fim-pad>",  "<fim_pad>", "<PAD>",      "<|fim_repo|>",
    "<|repo_name|>", "<fim-repo>", "<REPO>",    "<reponame>", "<|file_sep|>",
};

void read_texts(const gguf::File& file, TokenTable& t) {
    const auto& texts = file.get_string_array("tokenizer.ggml.tokens");
    if (texts.empty()) throw std::runtime_error("tokenizer.ggml.tokens is empty");
    t.texts.reserve(texts.size());
    for (size_t id = 0; id < texts.size(); ++id) {
        // An empty token could never be matched; llama.cpp renames it the same way.
        std::string text = texts[id].empty() ? "[EMPTY_" + std::to_string(id) + "]" : texts[id];
        if (!t.ids.emplace(text, static_cast<Token>(id)).second) {
            throw std::runtime_error("duplicate token in vocabulary: '" + text + "'");
        }
        t.texts.push_back(std::move(text));
    }
}

void read_scores_and_types(const gguf::File& file, TokenTable& t) {
    const size_t n = t.texts.size();
    t.scores.assign(n, 0.0f);
    if (file.has("tokenizer.ggml.scores")) {
        const auto scores = file.get_f32_array("tokenizer.ggml.scores");
        if (scores.size() < n) throw std::runtime_error("tokenizer.ggml.scores is too short");
        std::copy_n(scores.begin(), n, t.scores.begin());
    }
    t.attrs.assign(n, kAttrNormal);
    if (file.has("tokenizer.ggml.token_type")) {
        const auto types = file.get_int_array("tokenizer.ggml.token_type");
        if (types.size() < n) throw std::runtime_error("tokenizer.ggml.token_type is too short");
        for (size_t id = 0; id < n; ++id) t.attrs[id] = attr_of_type(types[id]);
    }
}

// Replaces fallback with the id stored under key when it is present and in range.
Token read_id(const gguf::File& file, std::string_view key, Token fallback, size_t n_tokens) {
    if (fallback >= static_cast<Token>(n_tokens)) fallback = -1;
    if (!file.has(key)) return fallback;
    const uint32_t id = file.get_u32(key);
    return id < n_tokens ? static_cast<Token>(id) : fallback;
}

void read_special_ids(const gguf::File& file, TokenTable& t) {
    const size_t n = t.texts.size();
    const bool spm = t.kind == VocabKind::SentencePiece;
    t.bos = read_id(file, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, n);
    t.eos = read_id(file, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, n);
    t.unk = read_id(file, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
    const Token eot = read_id(file, "tokenizer.ggml.eot_token_id", -1, n);
    const Token eom = read_id(file, "tokenizer.ggml.eom_token_id", -1, n);
    for (Token id : {t.eos, eot, eom}) {
        if (id >= 0) t.end_of_generation.insert(id);
    }
    const auto mark_end_of_generation = [&](std::span<const std::string_view> texts) {
        for (std::string_view text : texts) {
            if (const auto id = t.find(text)) {
                t.end_of_generation.insert(*id);
                t.attrs[*id] |= kAttrControl;
            }
        }
    };
    mark_end_of_generation(kEndOfGenerationTexts);
    mark_end_of_generation(kFillInTheMiddleBoundaryTexts);
}

void collect_specials(TokenTable& t) {
    for (Token id = 0; id < static_cast<Token>(t.texts.size()); ++id) {
        if (t.has(id, TokenAttr(kAttrControl | kAttrUserDefined | kAttrUnknown))) {
            t.specials_longest_first.push_back(id);
        }
    }
    std::stable_sort(t.specials_longest_first.begin(), t.specials_longest_first.end(),
                     [&](Token a, Token b) { return t.texts[a].size() > t.texts[b].size(); });
}

}  // namespace

TokenTable TokenTable::from_gguf(const gguf::File& file, VocabKind kind, bool add_bos_default) {
    TokenTable t;
    t.kind = kind;
    read_texts(file, t);
    read_scores_and_types(file, t);
    read_special_ids(file, t);
    collect_specials(t);
    t.add_bos = file.get_bool("tokenizer.ggml.add_bos_token", add_bos_default) && t.bos >= 0;
    return t;
}

std::optional<Token> TokenTable::find(std::string_view text) const {
    const auto it = ids.find(text);
    if (it == ids.end()) return std::nullopt;
    return it->second;
}

uint8_t TokenTable::byte_value(Token id) const {
    const std::string& text = texts[id];  // "<0xXX>"
    if (text.size() != 6 || text.compare(0, 3, "<0x") != 0) {
        throw std::runtime_error("byte token " + std::to_string(id) + " is not <0xXX>: " + text);
    }
    return static_cast<uint8_t>(std::stoi(text.substr(3, 2), nullptr, 16));
}

}  // namespace ms::tok
