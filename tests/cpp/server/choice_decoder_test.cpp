#include "server/choice_decoder.h"

#include <gtest/gtest.h>

#include "byte_vocab.h"

namespace ms::server {
namespace {

using testing::ByteVocab;
using Step = ChoiceDecoder::Step;

// Feeds text byte by byte (one token per byte) until the decoder asks to stop.
std::pair<std::string, Step> run(ChoiceDecoder& decoder, const std::string& text) {
    std::string out;
    for (const auto id : ByteVocab::bytes(text)) {
        const Step step = decoder.push(id, out);
        if (step != Step::Continue) return {out, step};
    }
    return {out + decoder.finish(), Step::Continue};
}

TEST(ChoiceDecoder, StopStringSplitAcrossTokensEndsGeneration) {
    const ByteVocab vocab;
    ChoiceDecoder decoder(vocab, {"###"});
    const auto [text, step] = run(decoder, "answer: 42###ignored");
    EXPECT_EQ(step, Step::StopString);
    EXPECT_EQ(text + decoder.finish(), "answer: 42");
}

TEST(ChoiceDecoder, PartialUtf8WaitsForItsLastByte) {
    const ByteVocab vocab;
    ChoiceDecoder decoder(vocab, {});
    std::string out;
    decoder.push(0xE2, out);
    decoder.push(0x82, out);
    EXPECT_EQ(out, "");
    decoder.push(0xAC, out);
    EXPECT_EQ(out, "\xE2\x82\xAC");
}

TEST(ChoiceDecoder, HeldBackTextComesOutAtTheEnd) {
    const ByteVocab vocab;
    ChoiceDecoder decoder(vocab, {"xyz"});
    EXPECT_EQ(run(decoder, "abcxy").first, "abcxy");
}

}  // namespace
}  // namespace ms::server
