#include "tokenizer/vocab.h"

#include <algorithm>
#include <stdexcept>

#include "gguf/gguf.h"
#include "tokenizer/table_vocab.h"
#include "tokenizer/utf8.h"

namespace ms::tok {
namespace {

// Splits every text fragment around each occurrence of one special token's text.
template <typename Fragment>
void cut_out(std::vector<Fragment>& fragments, std::string_view special, Token id) {
    std::vector<Fragment> out;
    out.reserve(fragments.size());
    for (const Fragment& f : fragments) {
        if (f.special >= 0) {
            out.push_back(f);
            continue;
        }
        std::string_view rest = f.text;
        for (size_t at = rest.find(special); at != std::string_view::npos;
             at = rest.find(special)) {
            if (at > 0) out.push_back({rest.substr(0, at)});
            out.push_back({special, id});
            rest.remove_prefix(at + special.size());
        }
        if (!rest.empty()) out.push_back({rest});
    }
    fragments.swap(out);
}

}  // namespace

std::unique_ptr<Vocab> Vocab::from_gguf(const gguf::File& file) {
    const std::string model = file.get_string("tokenizer.ggml.model");
    if (model == "llama") return make_sentencepiece_vocab(file);
    if (model == "gpt2") return make_byte_pair_vocab(file);
    throw std::runtime_error("unsupported tokenizer.ggml.model '" + model +
                             "' (supported: llama, gpt2)");
}

std::string Vocab::decode(std::span<const Token> ids, bool render_special) const {
    std::string text;
    for (Token id : ids) text += token_to_piece(id, render_special);
    return text;
}

// Like llama.cpp: specials are cut out longest first, each everywhere in the remaining text.
// User-defined tokens are always cut out; control and unknown ones only with parse_special.
std::vector<TableVocab::Fragment> TableVocab::split_on_specials(std::string_view text,
                                                                bool parse_special) const {
    std::vector<Fragment> fragments;
    if (!text.empty()) fragments.push_back({text});
    for (Token id : table_.specials_longest_first) {
        if (!parse_special && table_.has(id, TokenAttr(kAttrControl | kAttrUnknown))) continue;
        const std::string& special = table_.texts[id];
        const bool present = std::any_of(fragments.begin(), fragments.end(), [&](const auto& f) {
            return f.special < 0 && f.text.find(special) != std::string_view::npos;
        });
        if (present) cut_out(fragments, special, id);
    }
    return fragments;
}

std::vector<Token> TableVocab::encode(std::string_view text, std::optional<bool> add_bos,
                                      bool parse_special) const {
    std::vector<Token> out;
    if (add_bos.value_or(table_.add_bos) && table_.bos >= 0) out.push_back(table_.bos);
    bool follows_special = true;
    for (const Fragment& f : split_on_specials(text, parse_special)) {
        if (f.special >= 0) {
            out.push_back(f.special);
            follows_special = true;
        } else {
            encode_text(f.text, follows_special, out);
            follows_special = false;
        }
    }
    return out;
}

// Like llama.cpp: a control or unknown token is silent unless rendered, even when it is also
// user-defined (Gemma's "</s>" is an HTML tag that llama.cpp makes an end-of-generation token).
std::string TableVocab::token_to_piece(Token id, bool render_special) const {
    check_id(id);
    if (table_.has(id, TokenAttr(kAttrControl | kAttrUnknown))) {
        return render_special ? table_.texts[id] : std::string();
    }
    if (table_.has(id, kAttrUserDefined)) return table_.texts[id];
    if (table_.has(id, kAttrNormal)) return normal_piece(table_.texts[id]);
    if (table_.has(id, kAttrByte)) return std::string(1, static_cast<char>(table_.byte_value(id)));
    return {};
}

std::string_view TableVocab::token_text(Token id) const {
    check_id(id);
    return table_.texts[id];
}

bool TableVocab::is_end_of_generation(Token id) const {
    return table_.end_of_generation.contains(id);
}

std::optional<Token> TableVocab::find(std::string_view token_text) const {
    return table_.find(token_text);
}

void TableVocab::check_id(Token id) const {
    if (id < 0 || id >= n_tokens()) {
        throw std::out_of_range("token id " + std::to_string(id) + " outside the vocabulary of " +
                                std::to_string(n_tokens()));
    }
}

StreamingDetokenizer::StreamingDetokenizer(const Vocab& vocab, bool render_special)
    : vocab_(vocab), render_special_(render_special) {}

std::string StreamingDetokenizer::push(Token id) {
    pending_ += vocab_.token_to_piece(id, render_special_);
    const size_t complete = utf8::complete_prefix_length(pending_);
    std::string text = utf8::sanitize(std::string_view(pending_).substr(0, complete));
    pending_.erase(0, complete);
    return text;
}

std::string StreamingDetokenizer::flush() {
    std::string text = utf8::sanitize(pending_);
    pending_.clear();
    return text;
}

}  // namespace ms::tok
