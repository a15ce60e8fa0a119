// Streaming detokenization: text is released only in whole UTF-8 characters.
#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

namespace ms::tok {
namespace {

class StreamingDetokenizerTest : public testing::Test {
protected:
    // stories260K knows almost no non-ASCII text, so such characters become byte tokens.
    gguf::File file_ =
        gguf::File::open(std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf");
    std::unique_ptr<Vocab> vocab_ = Vocab::from_gguf(file_);

    Token byte_token(uint8_t b) const {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        return *vocab_->find(name);
    }
};

TEST_F(StreamingDetokenizerTest, HoldsBackPartsOfACharacter) {
    StreamingDetokenizer detok(*vocab_);
    EXPECT_EQ(detok.push(byte_token(0xF0)), "");  // 😀 is F0 9F 98 80
    EXPECT_EQ(detok.push(byte_token(0x9F)), "");
    EXPECT_EQ(detok.push(byte_token(0x98)), "");
    EXPECT_EQ(detok.push(byte_token(0x80)), "😀");
    EXPECT_EQ(detok.flush(), "");
}

TEST_F(StreamingDetokenizerTest, StreamEqualsDecodeForMixedText) {
    const std::string text = "Once upon a time: 東京 😀 naïve €5";
    const auto ids = vocab_->encode(text, false, false);
    StreamingDetokenizer detok(*vocab_);
    std::string streamed;
    for (Token id : ids) {
        const std::string piece = detok.push(id);
        streamed += piece;
    }
    streamed += detok.flush();
    EXPECT_EQ(streamed, " " + text);
    EXPECT_EQ(vocab_->decode(ids), " " + text);
}

TEST_F(StreamingDetokenizerTest, IllFormedBytesBecomeReplacementCharacters) {
    StreamingDetokenizer detok(*vocab_);
    EXPECT_EQ(detok.push(byte_token(0xE6)), "");
    // 'A' cannot continue E6: the held byte is ill-formed.
    EXPECT_EQ(detok.push(*vocab_->find("A")),
              "\uFFFD"
              "A");
    EXPECT_EQ(detok.push(byte_token(0x80)), "\uFFFD");  // a lone continuation byte
    EXPECT_EQ(detok.push(byte_token(0xE6)), "");
    EXPECT_EQ(detok.flush(), "\uFFFD");  // unfinished at the end
}

TEST_F(StreamingDetokenizerTest, ControlTokensOnlyWhenRendered) {
    StreamingDetokenizer plain(*vocab_);
    EXPECT_EQ(plain.push(vocab_->eos()), "");
    StreamingDetokenizer rendered(*vocab_, true);
    EXPECT_EQ(rendered.push(vocab_->eos()), "</s>");
}

}  // namespace
}  // namespace ms::tok
