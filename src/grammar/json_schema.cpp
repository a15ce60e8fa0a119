#include "grammar/json_schema.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "grammar/integer_range.h"
#include "grammar/regex.h"

namespace ms::grammar {
namespace {

using Json = nlohmann::ordered_json;  // keeps the properties in the schema's order

// Keywords that describe but do not constrain (format is an annotation in draft 2020-12).
const std::set<std::string> kAnnotations = {
    "title",     "description", "default",     "examples",        "$schema",
    "$id",       "$comment",    "format",      "deprecated",      "readOnly",
    "writeOnly", "$defs",       "definitions", "contentEncoding", "contentMediaType"};

const std::set<std::string> kConstraints = {"type",
                                            "properties",
                                            "required",
                                            "additionalProperties",
                                            "items",
                                            "minItems",
                                            "maxItems",
                                            "minLength",
                                            "maxLength",
                                            "pattern",
                                            "minimum",
                                            "maximum",
                                            "exclusiveMinimum",
                                            "exclusiveMaximum",
                                            "enum",
                                            "const",
                                            "$ref",
                                            "anyOf",
                                            "oneOf",
                                            "allOf",
                                            "uniqueItems"};

std::string pointer_token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

class SchemaCompiler {
public:
    SchemaCompiler(GrammarBuilder& b, const Json& root, const SchemaOptions& options)
        : b_(b), root_(root), options_(options) {}

    Symbol compile(const Json& s, const std::string& path) {
        if (s.is_boolean()) {
            if (!s.get<bool>()) throw SchemaError(path, "the schema false allows no value");
            return json_any_value(b_, options_.style);
        }
        if (!s.is_object()) throw SchemaError(path, "a schema must be an object or a boolean");
        for (const auto& [key, value] : s.items())
            if (!kAnnotations.contains(key) && !kConstraints.contains(key))
                throw SchemaError(at(path, key), "unsupported keyword '" + key + "'");
        for (const char* combinator : {"$ref", "anyOf", "oneOf", "allOf"})
            if (s.contains(combinator)) return combination(s, path, combinator);
        if (s.contains("const")) return literal_value(s["const"]);
        if (s.contains("enum")) return enumeration(s, path);
        std::vector<std::string> types;
        if (!s.contains("type")) {
            types = inferred_types(s);
        } else if (s["type"].is_string()) {
            types.push_back(s["type"].get<std::string>());
        } else if (s["type"].is_array() && !s["type"].empty()) {
            for (size_t i = 0; i < s["type"].size(); ++i) {
                if (!s["type"][i].is_string())
                    throw SchemaError(at(at(path, "type"), std::to_string(i)),
                                      "a type must be a string");
                types.push_back(s["type"][i].get<std::string>());
            }
        } else {
            throw SchemaError(at(path, "type"), "type must be a string or an array of strings");
        }
        std::vector<Sequence> alternatives;
        for (const auto& t : types) alternatives.push_back({typed(s, path, t)});
        return alternatives.size() == 1 ? alternatives[0][0] : b_.alt(alternatives, "types");
    }

private:
    static std::string at(const std::string& path, const std::string& key) {
        return path + "/" + pointer_token(key);
    }

    static std::vector<std::string> inferred_types(const Json& s) {
        for (const char* k : {"properties", "required", "additionalProperties"})
            if (s.contains(k)) return {"object"};
        for (const char* k : {"items", "minItems", "maxItems"})
            if (s.contains(k)) return {"array"};
        for (const char* k : {"minLength", "maxLength", "pattern"})
            if (s.contains(k)) return {"string"};
        for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
            if (s.contains(k)) return {"number"};
        return {"any"};
    }

    // $ref, anyOf, oneOf, allOf: alone, or with annotations beside them.
    Symbol combination(const Json& s, const std::string& path, const std::string& keyword) {
        for (const auto& [key, value] : s.items())
            if (key != keyword && !kAnnotations.contains(key))
                throw SchemaError(at(path, key),
                                  "'" + key + "' beside '" + keyword + "' is not supported");
        const std::string here = at(path, keyword);
        const Json& v = s[keyword];
        if (keyword == "$ref") {
            if (!v.is_string()) throw SchemaError(here, "$ref must be a string");
            return reference(v.get<std::string>(), here);
        }
        if (!v.is_array() || v.empty())
            throw SchemaError(here, keyword + " must be a non-empty array");
        if (keyword == "allOf") {
            if (v.size() != 1)
                throw SchemaError(here, "allOf is supported with a single schema only");
            return compile(v[0], at(here, "0"));
        }
        // oneOf is compiled as anyOf: an output matching two branches is possible (docs).
        std::vector<Sequence> alternatives;
        for (size_t i = 0; i < v.size(); ++i)
            alternatives.push_back({compile(v[i], at(here, std::to_string(i)))});
        return b_.alt(alternatives, keyword);
    }

    Symbol reference(const std::string& ref, const std::string& path) {
        if (ref.empty() || ref[0] != '#')
            throw SchemaError(path, "only local references (#/...) are supported");
        if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
        const Json* target = &root_;
        std::string pointer = ref.substr(1);
        size_t pos = 0;
        while (pos < pointer.size()) {
            if (pointer[pos] != '/') throw SchemaError(path, "malformed reference '" + ref + "'");
            const size_t end = std::min(pointer.find('/', pos + 1), pointer.size());
            std::string token = pointer.substr(pos + 1, end - pos - 1);
            for (size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
                if (i + 1 >= token.size() || (token[i + 1] != '0' && token[i + 1] != '1'))
                    throw SchemaError(path, "malformed reference '" + ref + "'");
                token.replace(i, 2, token[i + 1] == '0' ? "~" : "/");
            }
            if (target->is_object() && target->contains(token)) {
                target = &(*target)[token];
            } else if (target->is_array() && !token.empty() &&
                       token.find_first_not_of("0123456789") == std::string::npos &&
                       token.size() < 9 && std::stoul(token) < target->size()) {
                target = &(*target)[std::stoul(token)];
            } else {
                throw SchemaError(path, "reference '" + ref + "' points to nothing");
            }
            pos = end;
        }
        // Declared before compiling so that recursive schemas refer back to it.
        const std::string name = ref == "#" ? "#" : ref;
        const Symbol rule = b_.declare(name);
        refs_.emplace(ref, rule);
        b_.define(rule, {{compile(*target, name)}});
        return rule;
    }

    Symbol literal_value(const Json& v) { return b_.literal(v.dump()); }

    Symbol enumeration(const Json& s, const std::string& path) {
        const Json& values = s["enum"];
        if (!values.is_array() || values.empty())
            throw SchemaError(at(path, "enum"), "enum must be a non-empty array");
        std::vector<Sequence> alternatives;
        for (const auto& v : values) alternatives.push_back({literal_value(v)});
        return b_.alt(alternatives, "enum");
    }

    Symbol typed(const Json& s, const std::string& path, const std::string& type) {
        if (type == "any") return json_any_value(b_, options_.style);
        if (type == "null") return b_.literal("null");
        if (type == "boolean") return b_.alt({{b_.literal("true")}, {b_.literal("false")}});
        if (type == "string") return string(s, path);
        if (type == "integer" || type == "number") return number(s, path, type == "integer");
        if (type == "object") return object(s, path);
        if (type == "array") return array(s, path);
        throw SchemaError(at(path, "type"), "unknown type '" + type + "'");
    }

    int count(const Json& s, const std::string& path, const char* key, int fallback) {
        if (!s.contains(key)) return fallback;
        const Json& v = s[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0)
            throw SchemaError(at(path, key), std::string(key) + " must be a non-negative integer");
        if (v.get<int64_t>() > options_.max_repeat)
            throw SchemaError(at(path, key), std::string(key) + " above the supported " +
                                                 std::to_string(options_.max_repeat));
        return int(v.get<int64_t>());
    }

    Symbol string(const Json& s, const std::string& path) {
        const int min = count(s, path, "minLength", 0);
        const int max = count(s, path, "maxLength", -1);
        if (max >= 0 && min > max) throw SchemaError(at(path, "minLength"), "above maxLength");
        if (!s.contains("pattern")) return json_string(b_, min, max);
        if (s.contains("minLength") || s.contains("maxLength"))
            throw SchemaError(at(path, "pattern"), "pattern with minLength/maxLength");
        if (!s["pattern"].is_string())
            throw SchemaError(at(path, "pattern"), "pattern must be a string");
        try {
            RegexOptions regex;
            regex.json_string_safe = true;
            const Symbol body = add_regex(b_, s["pattern"].get<std::string>(), regex);
            const Symbol quote = b_.literal("\"");
            return b_.seq({quote, body, quote}, "pattern");
        } catch (const RegexError& e) {
            throw SchemaError(at(path, "pattern"), e.what());
        }
    }

    // A numeric bound, or nullopt; exclusive bounds in their draft-6+ form (a number).
    static std::optional<double> bound(const Json& s, const std::string& path, const char* key) {
        if (!s.contains(key)) return std::nullopt;
        if (!s[key].is_number()) throw SchemaError(at(path, key), "must be a number");
        return s[key].get<double>();
    }

    static std::optional<int64_t> clamp(std::optional<double> v) {
        if (!v) return std::nullopt;
        const double limit = double(kMaxBoundMagnitude);
        return int64_t(std::max(-limit, std::min(limit, *v)));
    }

    // Integers: exact. Numbers with bounds: integer part within the bounds and a fraction
    // only where every fraction stays within them (no exponent); narrower than the schema.
    Symbol number(const Json& s, const std::string& path, bool integer) {
        const auto min = bound(s, path, "minimum"), max = bound(s, path, "maximum");
        const auto xmin = bound(s, path, "exclusiveMinimum");
        const auto xmax = bound(s, path, "exclusiveMaximum");
        if (!min && !max && !xmin && !xmax) return integer ? json_integer(b_) : json_number(b_);
        // Smallest and largest allowed integer part.
        std::optional<double> lo, hi;
        if (min) lo = std::ceil(*min);
        if (xmin) lo = std::max(lo.value_or(-INFINITY), std::floor(*xmin) + 1);
        if (max) hi = std::floor(*max);
        if (xmax) hi = std::min(hi.value_or(INFINITY), std::ceil(*xmax) - 1);
        const auto ilo = clamp(lo), ihi = clamp(hi);
        if (ilo && ihi && *ilo > *ihi) throw SchemaError(path, "no integer lies within the bounds");
        std::vector<Sequence> alternatives{{integer_range(b_, ilo, ihi)}};
        if (!integer) {
            // i.f for i >= 0 lies in [i, i+1): needs i+1 <= the upper bound. -k.f lies in
            // (-k-1, -k]: needs -k-1 >= the lower bound. ("-0.f" is never produced.)
            std::optional<double> upper, lower;  // the tightest of inclusive and exclusive
            if (max) upper = *max;
            if (xmax) upper = std::min(upper.value_or(INFINITY), *xmax);
            if (min) lower = *min;
            if (xmin) lower = std::max(lower.value_or(-INFINITY), *xmin);
            std::optional<int64_t> pos_lo = std::max<int64_t>(ilo.value_or(0), 0);
            std::optional<int64_t> pos_hi = upper ? clamp(std::floor(*upper) - 1) : std::nullopt;
            if (ihi && pos_hi) pos_hi = std::min(*pos_hi, *ihi);
            if (!pos_hi || *pos_lo <= *pos_hi)
                alternatives.push_back({integer_range(b_, pos_lo, pos_hi), json_fraction(b_)});
            std::optional<int64_t> neg_hi = std::min<int64_t>(ihi.value_or(-1), -1);
            std::optional<int64_t> neg_lo = lower ? clamp(std::ceil(*lower) + 1) : std::nullopt;
            if (ilo && neg_lo) neg_lo = std::max(*neg_lo, *ilo);
            if (!neg_lo || *neg_lo <= *neg_hi)
                alternatives.push_back({integer_range(b_, neg_lo, neg_hi), json_fraction(b_)});
        }
        return alternatives.size() == 1 ? alternatives[0][0] : b_.alt(alternatives, "bounded");
    }

    Symbol object(const Json& s, const std::string& path) {
        const Symbol ws = json_ws(b_, options_.style);
        const Symbol colon = b_.seq({ws, b_.literal(":"), ws}, "colon");
        if (s.contains("properties") && !s["properties"].is_object())
            throw SchemaError(at(path, "properties"), "properties must be an object");
        std::set<std::string> required;
        if (s.contains("required")) {
            const Json& r = s["required"];
            if (!r.is_array()) throw SchemaError(at(path, "required"), "must be an array");
            for (size_t i = 0; i < r.size(); ++i) {
                if (!r[i].is_string())
                    throw SchemaError(at(at(path, "required"), std::to_string(i)),
                                      "must be a string");
                const auto name = r[i].get<std::string>();
                if (!s.contains("properties") || !s["properties"].contains(name))
                    throw SchemaError(at(at(path, "required"), std::to_string(i)),
                                      "required property '" + name + "' is not in properties");
                required.insert(name);
            }
        }
        const Json additional = s.value("additionalProperties", Json(true));
        if (!additional.is_boolean() && !additional.is_object())
            throw SchemaError(at(path, "additionalProperties"), "must be a boolean or a schema");
        if (!s.contains("properties") || s["properties"].empty()) {
            // A map: any keys, values of the additionalProperties schema (or none at all).
            if (additional.is_boolean() && !additional.get<bool>()) return b_.literal("{}");
            const Symbol value = compile(additional, at(path, "additionalProperties"));
            const Symbol member = b_.seq({json_string(b_), colon, value}, "member");
            return json_list(b_, options_.style, '{', member, '}');
        }
        // Members in order; after_i: the rest from property i once something was written
        // (each prefixed by a comma), first_i: the same when nothing was written yet.
        struct Member {
            Symbol kv;
            bool required;
        };
        std::vector<Member> members;
        for (const auto& [name, schema] : s["properties"].items()) {
            const Symbol key = b_.literal(Json(name).dump());
            const Symbol value = compile(schema, at(at(path, "properties"), name));
            members.push_back({b_.seq({key, colon, value}, "property"), required.contains(name)});
        }
        const Symbol comma = b_.seq({ws, b_.literal(","), ws}, "comma");
        Symbol after = b_.empty();
        std::optional<Symbol> first;  // nullopt: nothing more to write
        bool all_optional = true;
        for (size_t i = members.size(); i-- > 0;) {
            const Member& m = members[i];
            std::vector<Sequence> a{{comma, m.kv, after}}, f{{m.kv, after}};
            if (!m.required) {
                a.push_back({after});
                if (first) f.push_back({*first});
            }
            all_optional = all_optional && !m.required;
            after = b_.alt(a, "after");
            first = b_.alt(f, "first");
        }
        const Symbol open = b_.literal("{"), close = b_.literal("}");
        std::vector<Sequence> object{{open, ws, *first, ws, close}};
        if (all_optional) object.push_back({open, ws, close});
        return b_.alt(object, "object");
    }

    Symbol array(const Json& s, const std::string& path) {
        if (s.contains("uniqueItems") &&
            !(s["uniqueItems"].is_boolean() && !s["uniqueItems"].get<bool>()))
            throw SchemaError(at(path, "uniqueItems"), "uniqueItems is not supported");
        const int min = count(s, path, "minItems", 0);
        const int max = count(s, path, "maxItems", -1);
        if (max >= 0 && min > max) throw SchemaError(at(path, "minItems"), "above maxItems");
        const Symbol item = s.contains("items") ? compile(s["items"], at(path, "items"))
                                                : json_any_value(b_, options_.style);
        return json_list(b_, options_.style, '[', item, ']', min, max);
    }

    GrammarBuilder& b_;
    const Json& root_;
    const SchemaOptions& options_;
    std::map<std::string, Symbol> refs_;
};

}  // namespace

Grammar compile_json_schema(std::string_view schema_json, const SchemaOptions& options) {
    Json root;
    try {
        root = Json::parse(schema_json);
    } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e999
        throw SchemaError("#", std::string("not valid JSON: ") + e.what());
    }
    GrammarBuilder b;
    SchemaCompiler compiler(b, root, options);
    const Symbol top = compiler.compile(root, "#");
    try {
        return std::move(b).build(top);
    } catch (const GrammarError& e) {
        // A $ref cycle that writes nothing, e.g. {"$ref": "#"}: the rule is named by its path.
        const std::string& rule = e.rule();
        throw SchemaError(rule.starts_with("#") ? rule : "#", e.what());
    }
}

}  // namespace ms::grammar
