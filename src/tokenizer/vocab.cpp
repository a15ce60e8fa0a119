#include "tokenizer/vocab.h"

#include <algorithm>
#include <stdexcept>

#include "gguf/gguf.h"
#include "tokenizer/table_vocab.h"
#include "tokenizer/utf8.h"

namespace ms::tok {
namespace {

// Splits the text fragments that may hold this special token around each occurrence of it.
// control: a control or unknown token, found only in fragments with parse_special.
template <typename Fragment>
void cut_out(std::vector<Fragment>& fragments, std::string_view special, Token id, bool control) {
    const auto searched = [&](const Fragment& f) {
        return f.special < 0 && (f.parse_special || !control);
    };
    const bool present = std::any_of(fragments.begin(), fragments.end(), [&](const Fragment& f) {
        return searched(f) && f.text.find(special) != std::string_view::npos;
    });
    if (!present) return;
    std::vector<Fragment> out;
    out.reserve(fragments.size());
    for (const Fragment& f : fragments) {
        if (!searched(f)) {
            out.push_back(f);
            continue;
        }
        std::string_view rest = f.text;
        for (size_t at = rest.find(special); at != std::string_view::npos;
             at = rest.find(special)) {
            if (at > 0) out.push_back({rest.substr(0, at), -1, f.parse_special});
            out.push_back({special, id});
            rest.remove_prefix(at + special.size());
        }
        if (!rest.empty()) out.push_back({rest, -1, f.parse_special});
    }
    fragments.swap(out);
}

// Neighbouring text fragments (views of one text, in order) become one: text that comes from
// different segments is tokenized as the single text it is.
template <typename Fragment>
void join_texts(std::vector<Fragment>& fragments) {
    std::vector<Fragment> out;
    out.reserve(fragments.size());
    for (const Fragment& f : fragments) {
        if (!out.empty() && f.special < 0 && out.back().special < 0) {
            std::string_view& text = out.back().text;
            text = std::string_view(text.data(), text.size() + f.text.size());
        } else {
            out.push_back(f);
        }
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
void TableVocab::split_on_specials(std::vector<Fragment>& fragments) const {
    for (Token id : table_.specials_longest_first)
        cut_out(fragments, table_.texts[id], id,
                table_.has(id, TokenAttr(kAttrControl | kAttrUnknown)));
}

std::vector<Token> TableVocab::encode(std::string_view text, std::optional<bool> add_bos,
                                      bool parse_special) const {
    std::vector<Fragment> fragments;
    if (!text.empty()) fragments.push_back({text, -1, parse_special});
    return encode_fragments(std::move(fragments), add_bos);
}

std::vector<Token> TableVocab::encode_segments(std::span<const TextSegment> segments,
                                               std::optional<bool> add_bos) const {
    std::string joined;
    for (const TextSegment& s : segments) joined += s.text;
    std::vector<Fragment> fragments;
    size_t at = 0;
    for (const TextSegment& s : segments) {
        if (!s.text.empty())
            fragments.push_back(
                {std::string_view(joined).substr(at, s.text.size()), -1, s.parse_special});
        at += s.text.size();
    }
    return encode_fragments(std::move(fragments), add_bos);
}

std::vector<Token> TableVocab::encode_fragments(std::vector<Fragment> fragments,
                                                std::optional<bool> add_bos) const {
    std::vector<Token> out;
    if (add_bos.value_or(table_.add_bos) && table_.bos >= 0) out.push_back(table_.bos);
    split_on_specials(fragments);
    join_texts(fragments);
    bool follows_special = true;
    for (const Fragment& f : fragments) {
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
