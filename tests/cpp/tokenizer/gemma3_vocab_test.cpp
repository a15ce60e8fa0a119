// Gemma 3's 262k-token SentencePiece vocabulary (models/, installed by scripts/setup.sh): token
// ids checked against llama.cpp (llama-cpp-python 0.3.36, vocab_only), the chat prompt, and
// end of generation.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/gguf.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/vocab.h"

namespace ms::tok {
namespace {

class Gemma3Vocab : public testing::Test {
protected:
    static void SetUpTestSuite() {
        const std::string path = std::string(MS_SOURCE_DIR) + "/models/gemma-3-270m-q4_k_m.gguf";
        ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run scripts/setup.sh";
        file_ = std::make_unique<gguf::File>(gguf::File::open(path));
        vocab_ = Vocab::from_gguf(*file_);
    }
    static void TearDownTestSuite() {
        vocab_.reset();
        file_.reset();
    }
    static std::vector<Token> text(std::string_view s) { return vocab_->encode(s, false, false); }

    static inline std::unique_ptr<gguf::File> file_;
    static inline std::unique_ptr<Vocab> vocab_;
};

TEST_F(Gemma3Vocab, NoSpacePrefix) {
    EXPECT_EQ(vocab_->n_tokens(), 262144);
    EXPECT_EQ(text("Hello"), (std::vector<Token>{9259}));
    EXPECT_EQ(text(" Hello"), (std::vector<Token>{26352}));  // "▁Hello"
    EXPECT_EQ(vocab_->encode("Hello world", std::nullopt, false),
              (std::vector<Token>{2, 9259, 1902}));  // BOS by default
}

// Runs of up to 31 spaces, tabs or newlines are user-defined tokens, cut out longest first.
TEST_F(Gemma3Vocab, WhitespaceRunsAreTokens) {
    EXPECT_EQ(text("a" + std::string(40, ' ') + "b"),
              (std::vector<Token>{236746, 167, 145, 236763}));  // 31 spaces, then 9
    EXPECT_EQ(text("\n\n\n"), (std::vector<Token>{109}));
    EXPECT_EQ(text("\t\tx"), (std::vector<Token>{255969, 236781}));
    EXPECT_EQ(vocab_->decode(text("a" + std::string(40, ' ') + "b")),
              "a" + std::string(40, ' ') + "b");
}

TEST_F(Gemma3Vocab, ByteFallback) {
    EXPECT_EQ(text("\x01\xFF"), (std::vector<Token>{249732, 493}));  // "\x01" is a token
    EXPECT_EQ(vocab_->token_text(493), "<0xFF>");
    EXPECT_EQ(vocab_->token_to_piece(493), "\xFF");
}

TEST_F(Gemma3Vocab, TurnMarkersOnlyWithParseSpecial) {
    EXPECT_EQ(text("<end_of_turn>"),
              (std::vector<Token>{236820, 643, 236779, 1340, 236779, 887, 236813}));
    EXPECT_EQ(vocab_->encode("<end_of_turn>", false, true), (std::vector<Token>{106}));
    EXPECT_EQ(vocab_->token_to_piece(106), "");
    EXPECT_EQ(vocab_->token_to_piece(106, true), "<end_of_turn>");
}

// llama.cpp's end-of-generation set for this file is {<eos>, <end_of_turn>, </s>}.
TEST_F(Gemma3Vocab, EndOfTurnEndsGeneration) {
    EXPECT_EQ(vocab_->bos(), 2);
    EXPECT_EQ(vocab_->eos(), 1);
    EXPECT_TRUE(vocab_->is_end_of_generation(1));
    EXPECT_TRUE(vocab_->is_end_of_generation(106));
    EXPECT_TRUE(vocab_->is_end_of_generation(212));
    EXPECT_FALSE(vocab_->is_end_of_generation(105));  // <start_of_turn>
    EXPECT_FALSE(vocab_->is_end_of_generation(107));  // "\n"
}

// The file has no tokenizer.chat_template: the vocabulary's turn markers select Gemma's.
TEST_F(Gemma3Vocab, ChatPromptTokenizesLikeLlamaCpp) {
    EXPECT_FALSE(file_->has("tokenizer.chat_template"));
    const ChatTemplate chat = ChatTemplate::of_model(*file_, *vocab_);
    ASSERT_EQ(chat.format, ChatFormat::Gemma);
    const std::string prompt =
        chat.apply({{"system", "Be brief."}, {"user", "What is the capital of France?"}}, true);
    EXPECT_EQ(prompt,
              "<start_of_turn>user\nBe brief.\n\nWhat is the capital of France?<end_of_turn>\n"
              "<start_of_turn>model\n");
    EXPECT_EQ(vocab_->encode(prompt, std::nullopt, true),
              (std::vector<Token>{2,   105,  2364, 107,  3912,   8652, 236761, 108, 3689, 563,
                                  506, 5279, 529,  7001, 236881, 106,  107,    105, 4368, 107}));
}

}  // namespace
}  // namespace ms::tok
