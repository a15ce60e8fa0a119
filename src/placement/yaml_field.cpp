#include "placement/yaml_field.h"

#include <algorithm>
#include <cmath>

namespace ms::placement {

void fail_at(const std::string& file, const Origin& where, const std::string& why) {
    const std::string field = where.path.empty() ? "" : where.path + ": ";
    throw DeploymentError(file + ":" + std::to_string(where.line) + ":" +
                          std::to_string(where.column) + ": " + field + why);
}

Origin Field::origin() const {
    const YAML::Mark m = node_.Mark();
    return {path_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

Field Field::at(const char* key) const {
    if (!has(key)) fail(std::string("missing field '") + key + "'");
    return Field(node_[key], file_, join(key));
}

Field Field::item(size_t i) const {
    return Field(node_[i], file_, path_ + "[" + std::to_string(i) + "]");
}

std::vector<std::pair<Field, Field>> Field::entries() const {
    std::vector<std::pair<Field, Field>> out;
    for (const auto& kv : node_) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        out.emplace_back(Field(kv.first, file_, join(key.c_str())),
                         Field(kv.second, file_, join(key.c_str())));
    }
    return out;
}

Field Field::expect_map() const {
    if (!node_.IsMap()) fail("expected a map");
    return *this;
}

Field Field::expect_list() const {
    if (!node_.IsSequence()) fail("expected a list");
    return *this;
}

std::string Field::text() const {
    if (!node_.IsScalar()) fail("expected a string");
    return node_.Scalar();
}

int Field::whole_number(int min) const {
    double v = 0;
    if (!node_.IsScalar() || !YAML::convert<double>::decode(node_, v) || !std::isfinite(v) ||
        v != std::floor(v) || v < min || v > 1e9)
        fail("expected a whole number >= " + std::to_string(min) + ", got '" + YAML::Dump(node_) +
             "'");
    return static_cast<int>(v);
}

double Field::fraction() const {
    double v = 0;
    if (!node_.IsScalar() || !YAML::convert<double>::decode(node_, v) || !std::isfinite(v) ||
        v <= 0 || v > 1)
        fail("expected a number above 0 and at most 1, got '" + YAML::Dump(node_) + "'");
    return v;
}

bool Field::boolean() const {
    bool v = false;
    if (!node_.IsScalar() || !YAML::convert<bool>::decode(node_, v))
        fail("expected true or false, got '" + YAML::Dump(node_) + "'");
    return v;
}

void Field::only_keys(const std::vector<std::string>& allowed) const {
    for (const auto& [key, value] : entries()) {
        const std::string k = key.text();
        if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
            key.fail("unknown field '" + k + "'");
    }
}

}  // namespace ms::placement
