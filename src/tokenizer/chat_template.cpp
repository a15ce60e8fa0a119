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

std::string render_chatml(const Messages& messages, bool add_generation_prompt) {
    std::string out;
    for (const auto& m : messages) {
        out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

// [INST] turns with the system prompt in <<SYS>> inside the first one.
std::string render_llama2(const Messages& messages) {
    std::string out = "[INST] ";
    bool inside_turn = true;
    for (const auto& m : messages) {
        if (!inside_turn) {
            out += "[INST] ";
            inside_turn = true;
        }
        if (m.role == "system") {
            out += "<<SYS>>\n" + m.content + "\n<</SYS>>\n\n";
        } else if (m.role == "user") {
            out += m.content + " [/INST]";
        } else {
            out += m.content + "</s>";
            inside_turn = false;
        }
    }
    return out;
}

std::string render_llama3(const Messages& messages, bool add_generation_prompt) {
    std::string out;
    for (const auto& m : messages) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
        out.append(trim(m.content)).append("<|eot_id|>");
    }
    if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// Gemma has no system role: the system prompt opens the next user turn.
std::string render_gemma(const Messages& messages, bool add_generation_prompt) {
    std::string out;
    std::string system;
    for (const auto& m : messages) {
        if (m.role == "system") {
            system.append(trim(m.content));
            continue;
        }
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n";
        if (!system.empty() && role != "model") {
            out += system + "\n\n";
            system.clear();
        }
        out.append(trim(m.content)).append("<end_of_turn>\n");
    }
    if (add_generation_prompt) out += "<start_of_turn>model\n";
    return out;
}

// Mistral's v7 format ([SYSTEM_PROMPT] and [INST] blocks).
std::string render_mistral(const Messages& messages) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += "[SYSTEM_PROMPT] " + m.content + "[/SYSTEM_PROMPT]";
        } else if (m.role == "user") {
            out += "[INST] " + m.content + "[/INST]";
        } else {
            out += " " + m.content + "</s>";
        }
    }
    return out;
}

std::string render_zephyr(const Messages& messages, bool add_generation_prompt) {
    std::string out;
    for (const auto& m : messages) {
        out += "<|" + m.role + "|>\n" + m.content + "<|endoftext|>\n";
    }
    if (add_generation_prompt) out += "<|assistant|>\n";
    return out;
}

std::string render_deepseek3(const Messages& messages, bool add_generation_prompt) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += m.content + "\n\n";
        } else if (m.role == "user") {
            out += "<｜User｜>" + m.content;
        } else if (m.role == "assistant") {
            out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
        }
    }
    if (add_generation_prompt) out += "<｜Assistant｜>";
    return out;
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

std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
    switch (format) {
        case ChatFormat::ChatML:
            return render_chatml(messages, add_generation_prompt);
        case ChatFormat::Llama2:
            return render_llama2(messages);
        case ChatFormat::Llama3:
            return render_llama3(messages, add_generation_prompt);
        case ChatFormat::Gemma:
            return render_gemma(messages, add_generation_prompt);
        case ChatFormat::Mistral:
            return render_mistral(messages);
        case ChatFormat::Zephyr:
            return render_zephyr(messages, add_generation_prompt);
        case ChatFormat::DeepSeek3:
            return render_deepseek3(messages, add_generation_prompt);
        case ChatFormat::Unknown:
            break;
    }
    throw std::invalid_argument("no built-in chat format for this template");
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

std::string ChatTemplate::apply(const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) const {
    if (default_system.empty() || (!messages.empty() && messages.front().role == "system"))
        return apply_chat_template(format, messages, add_generation_prompt);
    std::vector<ChatMessage> with_system{{"system", default_system}};
    with_system.insert(with_system.end(), messages.begin(), messages.end());
    return apply_chat_template(format, with_system, add_generation_prompt);
}

}  // namespace ms::tok
