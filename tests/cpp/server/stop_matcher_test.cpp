#include "server/stop_matcher.h"

#include <gtest/gtest.h>

namespace ms::server {
namespace {

TEST(StopMatcher, NoStopsPassesEverything) {
    StopMatcher m({});
    EXPECT_EQ(m.push("abc"), "abc");
    EXPECT_EQ(m.flush(), "");
    EXPECT_FALSE(m.matched());
}

TEST(StopMatcher, StopInsideOnePiece) {
    StopMatcher m({"END"});
    EXPECT_EQ(m.push("helloENDworld"), "hello");
    EXPECT_TRUE(m.matched());
    EXPECT_EQ(m.push("more"), "");
    EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopSplitAcrossPieces) {
    StopMatcher m({"\nUser:"});
    EXPECT_EQ(m.push("Sure."), "Sure.");
    EXPECT_EQ(m.push("\nUs"), "");  // could be the stop string: held back
    EXPECT_EQ(m.push("er"), "");
    EXPECT_EQ(m.push(": hi"), "");
    EXPECT_TRUE(m.matched());
}

TEST(StopMatcher, HeldTextIsReleasedWhenItDiverges) {
    StopMatcher m({"stop"});
    EXPECT_EQ(m.push("a st"), "a ");
    EXPECT_EQ(m.push("ep"), "step");
    EXPECT_FALSE(m.matched());
    EXPECT_EQ(m.push("sto"), "");
    EXPECT_EQ(m.flush(), "sto");  // generation ended without the rest
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
    StopMatcher m({"cd", "b"});
    EXPECT_EQ(m.push("abcd"), "a");
}

TEST(StopMatcher, HoldsLongestPossiblePrefix) {
    StopMatcher m({"aab"});
    EXPECT_EQ(m.push("xaa"), "x");
    EXPECT_EQ(m.push("a"), "a");  // "aaa": only the last "aa" can still start "aab"
    EXPECT_EQ(m.push("b"), "");
    EXPECT_TRUE(m.matched());
}

TEST(StopMatcher, MultiByteCharactersStayWhole) {
    StopMatcher m({"é!"});
    EXPECT_EQ(m.push("caf\xC3\xA9"), "caf");
    EXPECT_EQ(m.push("?"), "\xC3\xA9?");
}

}  // namespace
}  // namespace ms::server
