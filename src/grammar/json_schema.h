// JSON Schema (the subset in docs/grammar.md) compiled to a grammar whose sentences are JSON
// texts valid against the schema. Properties come out in the schema's order; where the
// grammar is narrower than the schema (e.g. only declared properties are emitted) every
// output still validates.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

#include "grammar/grammar.h"
#include "grammar/json_rules.h"

namespace ms::grammar {

// An invalid schema or one using what is not supported. path() is a JSON pointer into the
// schema (e.g. "#/properties/a/type") for the server's 400 message.
class SchemaError : public std::runtime_error {
public:
    SchemaError(std::string path, const std::string& message)
        : std::runtime_error(path + ": " + message), path_(std::move(path)) {}
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

struct SchemaOptions {
    JsonStyle style;
    int max_repeat = 10000;  // largest minLength/maxLength/minItems/maxItems (they are unrolled)
};

// schema_json: the schema as JSON text. Throws SchemaError.
Grammar compile_json_schema(std::string_view schema_json, const SchemaOptions& options = {});

}  // namespace ms::grammar
