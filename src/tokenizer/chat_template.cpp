// Built-in renderings of the common chat formats, following llama.cpp's llm_chat_apply_template
// so that a prompt built here tokenizes like one built by llama.cpp's server.
#include "tokenizer/chat_template.h"

#include <algorithm>
#include <stdexcept>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

namespace ms::tok {
namespace {

bool contains(std::string_view text, std::string_view marker) {
    return text.find(marker) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\n\r\v\f";
    const size_t first = s.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

using Messages = std::vector<ChatMessage>;

// Collects a prompt as segments: the template's markup, in which special-token texts are
// tokens, and message content, which is only ever text.
class PromptWriter {
public:
    PromptWriter& markup(std::string_view text) { return append(text, true); }
    PromptWriter& content(std::string_view text) { return append(text, false); }
    std::vector<TextSegment> take() { return std::move(segments_); }

private:
    PromptWriter& append(std::string_view text, bool parse_special) {
        if (text.empty()) return *this;
        if (segments_.empty() || segments_.back().parse_special != parse_special)
            segments_.push_back({{}, parse_special});
        segments_.back().text.append(text);
        return *this;
    }

    std::vector<TextSegment> segments_;
};

void render_chatml(const Messages& messages, bool add_generation_prompt, PromptWriter& out) {
    for (const auto& m : messages)
        out.markup("<|im_start|>")
            .markup(m.role)
            .markup("\n")
            .content(m.content)
            .markup("<|im_end|>\n");
    if (add_generation_prompt) out.markup("<|im_start|>assistant\n");
}

// [INST] turns with the system prompt in <<SYS>> inside the first one.
void render_llama2(const Messages& messages, PromptWriter& out) {
    out.markup("[INST] ");
    bool inside_turn = true;
    for (const auto& m : messages) {
        if (!inside_turn) {
            out.markup("[INST] ");
            inside_turn = true;
        }
        if (m.role == "system") {
            out.markup("<<SYS>>\n").content(m.content).markup("\n<</SYS>>\n\n");
        } else if (m.role == "user") {
            out.content(m.content).markup(" [/INST]");
        } else {
            out.content(m.content).markup("</s>");
            inside_turn = false;
        }
    }
}

void render_llama3(const Messages& messages, bool add_generation_prompt, PromptWriter& out) {
    for (const auto& m : messages) {
        out.markup("<|start_header_id|>").markup(m.role).markup("<|end_header_id|>\n\n");
        out.content(trim(m.content)).markup("<|eot_id|>");
    }
    if (add_generation_prompt) out.markup("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

// Gemma has no system role: the system prompt opens the next user turn.
void render_gemma(const Messages& messages, bool add_generation_prompt, PromptWriter& out) {
    std::string system;
    for (const auto& m : messages) {
        if (m.role == "system") {
            system.append(trim(m.content));
            continue;
        }
        const std::string_view role =
            m.role == "assistant" ? std::string_view("model") : std::string_view(m.role);
        out.markup("<start_of_turn>").markup(role).markup("\n");
        if (!system.empty() && role != "model") {
            out.content(system).markup("\n\n");
            system.clear();
        }
        out.content(trim(m.content)).markup("<end_of_turn>\n");
    }
    if (add_generation_prompt) out.markup("<start_of_turn>model\n");
}

// Mistral's v7 format ([SYSTEM_PROMPT] and [INST] blocks).
void render_mistral(const Messages& messages, PromptWriter& out) {
    for (const auto& m : messages) {
        if (m.role == "system") {
            out.markup("[SYSTEM_PROMPT] ").content(m.content).markup("[/SYSTEM_PROMPT]");
        } else if (m.role == "user") {
            out.markup("[INST] ").content(m.content).markup("[/INST]");
        } else {
            out.markup(" ").content(m.content).markup("</s>");
        }
    }
}

void render_zephyr(const Messages& messages, bool add_generation_prompt, PromptWriter& out) {
    for (const auto& m : messages)
        out.markup("<|").markup(m.role).markup("|>\n").content(m.content).markup("<|endoftext|>\n");
    if (add_generation_prompt) out.markup("<|assistant|>\n");
}

void render_deepseek3(const Messages& messages, bool add_generation_prompt, PromptWriter& out) {
    for (const auto& m : messages) {
        if (m.role == "system") {
            out.content(m.content).markup("\n\n");
        } else if (m.role == "user") {
            out.markup("<｜User｜>").content(m.content);
        } else if (m.role == "assistant") {
            out.markup("<｜Assistant｜>").content(m.content).markup("<｜end▁of▁sentence｜>");
        }
    }
    if (add_generation_prompt) out.markup("<｜Assistant｜>");
}

std::string joined(const std::vector<TextSegment>& segments) {
    std::string text;
    for (const auto& s : segments) text += s.text;
    return text;
}

}  // namespace

// Markers checked in llama.cpp's order, so a template matches the same family there.
ChatFormat detect_chat_format(std::string_view jinja) {
    if (contains(jinja, "<|im_start|>")) return ChatFormat::ChatML;
    if (contains(jinja, "[INST]")) {
        return contains(jinja, "[SYSTEM_PROMPT]") ? ChatFormat::Mistral : ChatFormat::Llama2;
    }
    // Phi-3 also writes <|user|> but ends turns with <|end|>; it has no built-in rendering.
    if (contains(jinja, "<|user|>")) {
        return contains(jinja, "<|end|>") ? ChatFormat::Unknown : ChatFormat::Zephyr;
    }
    if (contains(jinja, "<start_of_turn>")) return ChatFormat::Gemma;
    if (contains(jinja, "<|start_header_id|>") && contains(jinja, "<|end_header_id|>")) {
        return ChatFormat::Llama3;
    }
    if (contains(jinja, "<｜Assistant｜>") && contains(jinja, "<｜User｜>") &&
        contains(jinja, "<｜end▁of▁sentence｜>")) {
        return ChatFormat::DeepSeek3;
    }
    return ChatFormat::Unknown;
}

ChatFormat detect_chat_format(const Vocab& vocab) {
    struct TurnMarkers {
        ChatFormat format;
        std::vector<std::string_view> tokens;
    };
    // DeepSeek's first: its distilled Qwen models also hold ChatML's tokens.
    static const TurnMarkers kFormats[] = {
        {ChatFormat::DeepSeek3, {"<｜User｜>", "<｜Assistant｜>"}},
        {ChatFormat::ChatML, {"<|im_start|>", "<|im_end|>"}},
        {ChatFormat::Gemma, {"<start_of_turn>", "<end_of_turn>"}},
        {ChatFormat::Llama3, {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}},
    };
    for (const auto& [format, tokens] : kFormats) {
        const bool all_present = std::all_of(tokens.begin(), tokens.end(),
                                             [&](std::string_view t) { return vocab.find(t); });
        if (all_present) return format;
    }
    return ChatFormat::Unknown;
}

std::string_view chat_format_name(ChatFormat f) {
    switch (f) {
        case ChatFormat::ChatML:
            return "chatml";
        case ChatFormat::Llama2:
            return "llama2";
        case ChatFormat::Llama3:
            return "llama3";
        case ChatFormat::Gemma:
            return "gemma";
        case ChatFormat::Mistral:
            return "mistral-v7";
        case ChatFormat::Zephyr:
            return "zephyr";
        case ChatFormat::DeepSeek3:
            return "deepseek3";
        case ChatFormat::Unknown:
            break;
    }
    return "unknown";
}

std::vector<TextSegment> render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt) {
    PromptWriter out;
    switch (format) {
        case ChatFormat::ChatML:
            render_chatml(messages, add_generation_prompt, out);
            break;
        case ChatFormat::Llama2:
            render_llama2(messages, out);
            break;
        case ChatFormat::Llama3:
            render_llama3(messages, add_generation_prompt, out);
            break;
        case ChatFormat::Gemma:
            render_gemma(messages, add_generation_prompt, out);
            break;
        case ChatFormat::Mistral:
            render_mistral(messages, out);
            break;
        case ChatFormat::Zephyr:
            render_zephyr(messages, add_generation_prompt, out);
            break;
        case ChatFormat::DeepSeek3:
            render_deepseek3(messages, add_generation_prompt, out);
            break;
        case ChatFormat::Unknown:
            throw std::invalid_argument("no built-in chat format for this template");
    }
    return out.take();
}

std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
    return joined(render_chat(format, messages, add_generation_prompt));
}

namespace {

// The literal system turn a ChatML template emits when messages[0] is not a system message.
std::string chatml_default_system(std::string_view jinja) {
    constexpr std::string_view kOpen = "<|im_start|>system\n", kClose = "<|im_end|>";
    if (!contains(jinja, "messages[0]['role'] != 'system'")) return {};
    const size_t open = jinja.find(kOpen);
    if (open == std::string_view::npos) return {};
    const size_t start = open + kOpen.size();
    const size_t close = jinja.find(kClose, start);
    if (close == std::string_view::npos) return {};
    const std::string_view content = jinja.substr(start, close - start);
    if (contains(content, "{{") || contains(content, "'")) return {};  // not a plain literal
    return std::string(content);
}

}  // namespace

ChatTemplate ChatTemplate::from_jinja(std::string_view jinja_template) {
    ChatTemplate t;
    t.format = detect_chat_format(jinja_template);
    if (t.format == ChatFormat::ChatML) t.default_system = chatml_default_system(jinja_template);
    return t;
}

ChatTemplate ChatTemplate::of_model(const gguf::File& file, const Vocab& vocab) {
    const std::string jinja = file.get_string("tokenizer.chat_template", "");
    if (!jinja.empty()) return from_jinja(jinja);
    return {.format = detect_chat_format(vocab), .default_system = {}};
}

std::vector<TextSegment> ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                              bool add_generation_prompt) const {
    if (default_system.empty() || (!messages.empty() && messages.front().role == "system"))
        return render_chat(format, messages, add_generation_prompt);
    std::vector<ChatMessage> with_system{{"system", default_system}};
    with_system.insert(with_system.end(), messages.begin(), messages.end());
    return render_chat(format, with_system, add_generation_prompt);
}

std::string ChatTemplate::apply(const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) const {
    return joined(render(messages, add_generation_prompt));
}

std::vector<Token> ChatTemplate::tokenize(const Vocab& vocab,
                                          const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt) const {
    return vocab.encode_segments(render(messages, add_generation_prompt), std::nullopt);
}

}  // namespace ms::tok
