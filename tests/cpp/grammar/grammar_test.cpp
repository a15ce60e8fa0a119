// The IR and the matcher on hand-built grammars.
#include "grammar/grammar.h"

#include <gtest/gtest.h>

#include "grammar/choice.h"
#include "grammar/matcher.h"

namespace ms::grammar {
namespace {

bool matches(const Grammar& g, std::string_view text) {
    Matcher m(std::make_shared<Automaton>(g));
    return m.accept(text) && m.can_finish();
}

TEST(Grammar, NestedParenthesesByRecursion) {
    GrammarBuilder b;
    const Symbol parens = b.declare("parens");  // parens ::= "(" parens ")" parens | ()
    b.define(parens, {{b.literal("("), parens, b.literal(")"), parens}, {}});
    const Grammar g = std::move(b).build(parens);
    EXPECT_TRUE(matches(g, ""));
    EXPECT_TRUE(matches(g, "(()())()"));
    EXPECT_FALSE(matches(g, "(()"));
    EXPECT_FALSE(matches(g, "())"));
}

TEST(Grammar, LeftRecursionIsRefusedWithTheRule) {
    GrammarBuilder b;
    const Symbol list = b.declare("list");  // list ::= list "a" | "a"
    b.define(list, {{list, b.literal("a")}, {b.literal("a")}});
    try {
        std::move(b).build(list);
        FAIL() << "left recursion accepted";
    } catch (const GrammarError& e) {
        EXPECT_EQ(e.rule(), "list");
    }
}

TEST(Grammar, LeftRecursionThroughAnEmptyPrefixIsRefused) {
    GrammarBuilder b;
    const Symbol x = b.declare("x");  // x ::= () x "a" | "b"
    b.define(x, {{b.empty(), x, b.literal("a")}, {b.literal("b")}});
    EXPECT_THROW(std::move(b).build(x), GrammarError);
}

TEST(Grammar, UndefinedRuleIsRefused) {
    GrammarBuilder b;
    const Symbol x = b.declare("x");
    EXPECT_THROW(std::move(b).build(b.seq({b.literal("a"), x})), GrammarError);
}

TEST(Grammar, RepeatOfSomethingEmptyIsRefused) {
    GrammarBuilder b;
    EXPECT_THROW(b.star(b.optional(b.literal("a"))), GrammarError);
}

TEST(Grammar, RepeatBounds) {
    GrammarBuilder b;
    const Grammar g = std::move(b).build(b.repeat(b.literal("ab"), 2, 3));
    EXPECT_FALSE(matches(g, "ab"));
    EXPECT_TRUE(matches(g, "abab"));
    EXPECT_TRUE(matches(g, "ababab"));
    EXPECT_FALSE(matches(g, "abababab"));
}

TEST(Grammar, ToStringNamesRulesAndByteRanges) {
    GrammarBuilder b;
    const Grammar g = std::move(b).build(b.plus(b.bytes(ByteSet::range('a', 'z'))));
    EXPECT_NE(g.to_string().find("[a-z]"), std::string::npos) << g.to_string();
    EXPECT_NE(g.to_string().find("root"), std::string::npos);
}

TEST(Matcher, RefusedByteLeavesTheStateAlone) {
    Matcher m(std::make_shared<Automaton>(compile_choice({"yes", "no"})));
    EXPECT_TRUE(m.accept('y'));
    const StateId before = m.state();
    EXPECT_FALSE(m.accept('n'));
    EXPECT_EQ(m.state(), before);
    EXPECT_FALSE(m.accept("ex"));  // all or nothing
    EXPECT_EQ(m.state(), before);
    EXPECT_TRUE(m.accept("es"));
    EXPECT_TRUE(m.can_finish());
    EXPECT_TRUE(m.is_complete());
}

TEST(Matcher, CopyIsRollback) {
    Matcher m(std::make_shared<Automaton>(compile_choice({"abc", "abd", "ab"})));
    ASSERT_TRUE(m.accept("ab"));
    const Matcher saved = m;
    EXPECT_TRUE(m.can_finish());
    EXPECT_FALSE(m.is_complete());  // "abc" and "abd" may still follow
    ASSERT_TRUE(m.accept('c'));
    EXPECT_TRUE(m.is_complete());
    m = saved;
    EXPECT_TRUE(m.accept('d'));
}

TEST(Matcher, AmbiguousGrammarStaysSmall) {
    // (a|a|aa)* has exponentially many parses; hash-consed stacks keep the states few.
    GrammarBuilder b;
    const Symbol a = b.literal("a");
    const Symbol body = b.alt({{a}, {a}, {b.literal("aa")}});
    auto automaton = std::make_shared<Automaton>(std::move(b).build(b.star(body)));
    Matcher m(automaton);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(m.accept('a'));
    EXPECT_TRUE(m.can_finish());
    EXPECT_LT(automaton->n_states(), 10u);
}

TEST(Matcher, StatesAreLimited) {
    GrammarBuilder b;
    const Symbol parens = b.declare("parens");
    b.define(parens, {{b.literal("("), parens, b.literal(")")}, {}});
    Matcher m(std::make_shared<Automaton>(std::move(b).build(parens), 50));
    EXPECT_THROW(for (int i = 0; i < 100; ++i) m.accept('('), std::length_error);
}

TEST(Choice, EmptyListIsAnError) {
    EXPECT_THROW(compile_choice({}), std::invalid_argument);
}

}  // namespace
}  // namespace ms::grammar
