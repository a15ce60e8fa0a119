// The schema compiler: which documents each schema's grammar accepts, and the errors (with
// their schema paths) for invalid schemas and unsupported keywords.
#include "grammar/json_schema.h"

#include <gtest/gtest.h>

#include "grammar/matcher.h"

namespace ms::grammar {
namespace {

bool accepts(const Grammar& g, std::string_view text) {
    Matcher m(std::make_shared<Automaton>(g));
    return m.accept(text) && m.can_finish();
}

struct Case {
    const char* schema;
    std::vector<const char*> valid;
    std::vector<const char*> invalid;
};

class SchemaAccepts : public testing::TestWithParam<Case> {};

TEST_P(SchemaAccepts, ValidAndInvalidDocuments) {
    const Case& c = GetParam();
    const Grammar g = compile_json_schema(c.schema);
    for (const char* doc : c.valid) EXPECT_TRUE(accepts(g, doc)) << c.schema << "\n" << doc;
    for (const char* doc : c.invalid) EXPECT_FALSE(accepts(g, doc)) << c.schema << "\n" << doc;
}

INSTANTIATE_TEST_SUITE_P(
    Schemas, SchemaAccepts,
    testing::Values(
        Case{R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},
                "required":["a"],"additionalProperties":false})",
             {R"({"a":1})", R"({"a": -12, "b": "x"})", R"({ "a":0 })", R"({"a":1,"b":"\u00e9\n"})"},
             {R"({})", R"({"b":"x"})", R"({"b":"x","a":1})", R"({"a":1.5})", R"({"a":01})",
              R"({"a":1,"c":2})", R"({"a":1,})", R"({"a":1}  )", R"({"a":1,"b":"a"b"})"}},
        Case{R"({"type":"object","properties":{"x":{"type":"boolean"},"y":{"type":"null"}}})",
             {"{}", R"({"x":true})", R"({"y":null})", R"({"x":false,"y":null})"},
             {R"({"y":null,"x":true})", R"({,})", R"({"x":true,})"}},
        Case{R"({"type":"array","items":{"type":"number","minimum":-1.5,"maximum":2.5},
                "minItems":1,"maxItems":3})",
             {"[0]", "[-1, 1.9, 1]", "[1.25]", "[2]", "[0.5]"},
             {"[]", "[3]", "[-2]", "[2.6]", "[1,1,1,1]", "[1e3]"}},
        Case{R"({"type":"integer","minimum":-20,"exclusiveMaximum":100})",
             {"-20", "0", "99"},
             {"-21", "100", "1.0"}},
        Case{R"({"enum":["red","green",3,null,{"k":[1]}]})",
             {R"("red")", "3", "null", R"({"k":[1]})"},
             {R"("blue")", R"("re")", "4"}},
        Case{R"({"const":"fixed"})", {R"("fixed")"}, {R"("other")"}},
        Case{R"({"type":"string","minLength":2,"maxLength":3})",
             {R"("ab")", R"("日本語")", R"("a\"")"},
             {R"("a")", R"("abcd")"}},
        Case{R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})",
             {R"("AB-123")"},
             {R"("AB-12")", R"("ab-123")"}},
        Case{R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
                "next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},
                "required":["v","next"]}},"$ref":"#/$defs/node"})",
             {R"({"v":1,"next":null})", R"({"v":1,"next":{"v":2,"next":null}})"},
             {R"({"v":1})", R"({"v":1,"next":{"v":2}})"}},
        Case{R"({"type":["string","null"]})", {R"("s")", "null"}, {"1"}},
        Case{R"({"oneOf":[{"type":"integer"},{"type":"boolean"}]})", {"5", "true"}, {R"("5")"}},
        Case{R"({"type":"object","additionalProperties":{"type":"integer"}})",
             {"{}", R"({"any key":1,"other":2})"},
             {R"({"k":"v"})"}},
        Case{R"({})", {"1", R"({"a":[true,null,"x",{}]})", "[]"}, {"tru", "{,}"}},
        Case{R"({"type":"number"})", {"0", "-1.5e+10", "3.25E2", "1e5"}, {"1.", ".5", "+1", "01"}},
        Case{R"({"type":"number","exclusiveMinimum":0.5,"maximum":3})",
             {"1", "2.75", "3"},
             {"0", "0.5", "3.5", "-1"}}));

void expect_error(const char* schema, const std::string& path) {
    try {
        compile_json_schema(schema);
        ADD_FAILURE() << "compiled: " << schema;
    } catch (const SchemaError& e) {
        EXPECT_EQ(e.path(), path) << schema << " -> " << e.what();
    }
}

TEST(SchemaErrors, NameTheSchemaPath) {
    expect_error(R"({"type":"object","properties":{"a":{"type":"strin"}}})", "#/properties/a/type");
    expect_error(R"({"type":"object","properties":{"a/b":{"type":"string","foo":1}}})",
                 "#/properties/a~1b/foo");
    expect_error(R"({"type":"array","items":{"type":"integer","multipleOf":3}})",
                 "#/items/multipleOf");
    expect_error(R"({"type":"object","properties":{"a":{}},"required":["b"]})", "#/required/0");
    expect_error(R"({"anyOf":[]})", "#/anyOf");
    expect_error(R"({"anyOf":[{"type":"string"},{"type":7}]})", "#/anyOf/1/type");
    expect_error(R"({"$ref":"#/$defs/missing"})", "#/$ref");
    expect_error(R"({"$ref":"http://example.com/s.json"})", "#/$ref");
    expect_error(R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})", "#/$defs/a");
    expect_error(R"({"type":"string","pattern":"(a)\\1"})", "#/pattern");
    expect_error(R"({"type":"string","minLength":5,"maxLength":2})", "#/minLength");
    expect_error(R"({"type":"integer","minimum":5,"maximum":4})", "#");
    expect_error(R"({"type":"integer","minimum":"5"})", "#/minimum");
    expect_error(R"({"type":"array","uniqueItems":true})", "#/uniqueItems");
    expect_error(R"({"type":"array","maxItems":100000})", "#/maxItems");
    expect_error(R"({"type":"object","properties":{"a":false}})", "#/properties/a");
    expect_error(R"({"type":"object","patternProperties":{}})", "#/patternProperties");
    expect_error(R"({"$ref":"#/$defs/a","type":"string","$defs":{"a":{}}})", "#/type");
    expect_error("[1,2]", "#");
    expect_error("{not json", "#");
    expect_error(R"({"maximum":6e6666})", "#");  // found by grammar_schema_fuzz
}

TEST(SchemaErrors, AnnotationsAreIgnored) {
    EXPECT_NO_THROW(compile_json_schema(
        R"({"title":"t","description":"d","$schema":"https://json-schema.org/draft/2020-12/schema",
            "type":"string","format":"date-time","default":"x","examples":["y"]})"));
}

TEST(JsonObject, AnyObject) {
    const Grammar g = json_object_grammar();
    EXPECT_TRUE(accepts(g, R"({"a": [1, {"b": null}], "c": "d"})"));
    EXPECT_TRUE(accepts(g, "{}"));
    EXPECT_FALSE(accepts(g, "[]"));
    EXPECT_FALSE(accepts(g, R"({"a":1)"));
}

TEST(JsonStyle, WhitespaceIsBounded) {
    SchemaOptions compact;
    compact.style.max_whitespace = 0;
    const Grammar g =
        compile_json_schema(R"({"type":"array","items":{"type":"integer"}})", compact);
    EXPECT_TRUE(accepts(g, "[1,2]"));
    EXPECT_FALSE(accepts(g, "[1, 2]"));
    const Grammar one = compile_json_schema(R"({"type":"array"})");
    EXPECT_TRUE(accepts(one, "[ 1, 2 ]"));
    EXPECT_FALSE(accepts(one, "[1,  2]"));
}

}  // namespace
}  // namespace ms::grammar
