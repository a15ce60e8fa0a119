// Vocabularies read from GGUF metadata: SentencePiece-style (tokenizer.ggml.model = "llama")
// and byte-level BPE ("gpt2", with the pre-tokenizers of GPT-2, SmolLM2 and Qwen2/3).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ms::gguf {
class File;
}

namespace ms::tok {

using Token = int32_t;

// A piece of a text to tokenize. Special-token texts such as "<|im_start|>" become special
// tokens only in segments that allow it: a chat template's own markup, never message content.
struct TextSegment {
    std::string text;
    bool parse_special = false;
};

class Vocab {
public:
    // Throws std::runtime_error naming what is missing or unsupported.
    static std::unique_ptr<Vocab> from_gguf(const gguf::File& file);
    virtual ~Vocab() = default;

    // Text to ids. add_bos follows the model's rule when nullopt (tokenizer.ggml.add_bos_token
    // or the model type's default). parse_special: recognise special/control token texts
    // such as "<|im_start|>" in the input.
    virtual std::vector<Token> encode(std::string_view text, std::optional<bool> add_bos,
                                      bool parse_special) const = 0;
    // The segments joined, tokenized as one text (merges may cross segment boundaries), with
    // special-token texts recognised only where they lie inside a segment with parse_special.
    virtual std::vector<Token> encode_segments(std::span<const TextSegment> segments,
                                               std::optional<bool> add_bos) const = 0;
    // The bytes a token stands for (byte tokens give their byte, "▁" becomes a space for
    // SentencePiece, byte-level symbols are mapped back). Control tokens give their text
    // only when render_special.
    virtual std::string token_to_piece(Token id, bool render_special = false) const = 0;
    std::string decode(std::span<const Token> ids, bool render_special = false) const;

    virtual int32_t n_tokens() const = 0;
    virtual std::string_view token_text(Token id) const = 0;  // as stored in the vocabulary
    virtual Token bos() const = 0;                            // -1 when none
    virtual Token eos() const = 0;
    virtual bool is_end_of_generation(Token id) const = 0;  // eos, eot, <|im_end|>, ...
    virtual bool add_bos_default() const = 0;
    virtual std::optional<Token> find(std::string_view token_text) const = 0;
};

// Turns a stream of tokens into text without ever emitting part of a UTF-8 character:
// bytes of an unfinished character are held back until it completes. SentencePiece's
// leading space of the first token is kept (callers strip it when they want).
class StreamingDetokenizer {
public:
    explicit StreamingDetokenizer(const Vocab& vocab, bool render_special = false);
    std::string push(Token id);  // text completed by this token (may be empty)
    std::string flush();         // whatever is held back, with invalid bytes as U+FFFD

private:
    const Vocab& vocab_;
    bool render_special_;
    std::string pending_;
};

}  // namespace ms::tok
