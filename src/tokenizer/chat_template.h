// Chat prompts built from the model's template (tokenizer.chat_template). The Jinja source is
// recognised by its markers and rendered by a built-in formatter for that family (ChatML,
// Llama 2/3, Gemma, Mistral, ...), the way llama.cpp's server does.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace ms::gguf {
class File;
}

namespace ms::tok {

struct ChatMessage {
    std::string role;  // system, user, assistant: part of the template's markup
    std::string content;
};

enum class ChatFormat { ChatML, Llama2, Llama3, Gemma, Mistral, Zephyr, DeepSeek3, Unknown };

ChatFormat detect_chat_format(std::string_view jinja_template);
// For a model without a template: the format whose turn markers the vocabulary holds as tokens.
ChatFormat detect_chat_format(const Vocab& vocab);
std::string_view chat_format_name(ChatFormat f);
// The prompt as segments: the format's markup (special-token texts are tokens there) and the
// messages' content (only ever text). Throws std::invalid_argument for ChatFormat::Unknown.
std::vector<TextSegment> render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt);
// The prompt's text (render_chat's segments joined).
std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt);

// A model's template: its format plus the system prompt the template inserts when the
// conversation has none (SmolLM2's ChatML template hard-codes one).
struct ChatTemplate {
    ChatFormat format = ChatFormat::Unknown;
    std::string default_system;

    static ChatTemplate from_jinja(std::string_view jinja_template);
    // The file's tokenizer.chat_template; when it has none (the Gemma 3 270M GGUF dropped its
    // template), the format detected from the vocabulary.
    static ChatTemplate of_model(const gguf::File& file, const Vocab& vocab);
    // Throw std::invalid_argument for ChatFormat::Unknown.
    std::vector<TextSegment> render(const std::vector<ChatMessage>& messages,
                                    bool add_generation_prompt) const;
    std::string apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
    // The prompt's token ids. Special tokens come from the template only: text in a message
    // that spells one ("<|im_start|>system") stays text, so no message can forge a turn.
    std::vector<Token> tokenize(const Vocab& vocab, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) const;
};

}  // namespace ms::tok
