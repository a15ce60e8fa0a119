#include "loadgen/sse_parser.h"

#include <gtest/gtest.h>

namespace ms::loadgen {
namespace {

using Events = std::vector<std::string>;

const std::string stream =
    "data: {\"a\":1}\n\n"
    ": keep-alive comment\n\n"
    "event: message\r\ndata: {\"b\":2}\r\n\r\n"
    "data: line one\ndata: line two\n\n"
    "data: [DONE]\n\n";
const Events expected{"{\"a\":1}", "{\"b\":2}", "line one\nline two", "[DONE]"};

TEST(SseParser, WholeStreamAtOnce) {
    EXPECT_EQ(SseParser().feed(stream), expected);
}

TEST(SseParser, SplitAtEveryPossiblePoint) {
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        SseParser parser;
        auto events = parser.feed(stream.substr(0, cut));
        const auto rest = parser.feed(stream.substr(cut));
        events.insert(events.end(), rest.begin(), rest.end());
        EXPECT_EQ(events, expected) << "cut at " << cut;
    }
}

TEST(SseParser, OneByteAtATime) {
    SseParser parser;
    Events events;
    for (const char c : stream) {
        const auto got = parser.feed(std::string_view(&c, 1));
        events.insert(events.end(), got.begin(), got.end());
    }
    EXPECT_EQ(events, expected);
}

TEST(SseParser, EventWaitsForItsBlankLine) {
    SseParser parser;
    EXPECT_TRUE(parser.feed("data: {\"x\":1}\n").empty());
    EXPECT_EQ(parser.feed("\n"), Events{"{\"x\":1}"});
}

TEST(SseParser, DataWithoutSpaceAfterColon) {
    EXPECT_EQ(SseParser().feed("data:[DONE]\n\n"), Events{"[DONE]"});
}

}  // namespace
}  // namespace ms::loadgen
