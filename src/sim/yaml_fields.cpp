#include "sim/yaml_fields.h"

#include <cmath>

namespace ms::sim {

Fields::Fields(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    if (!node_.IsMap()) throw ConfigError((path_.empty() ? "file" : path_) + ": expected a map");
}

void Fields::fail(const char* key, const std::string& why) const {
    throw ConfigError(path(key) + ": " + why);
}

Fields Fields::child(const char* key) const {
    if (!has(key)) fail(key, "missing field");
    if (!node_[key].IsMap()) fail(key, "expected a map");
    return Fields(node_[key], path(key));
}

std::string Fields::text(const char* key) const {
    if (!has(key)) fail(key, "missing field");
    if (!node_[key].IsScalar()) fail(key, "expected a string");
    return node_[key].as<std::string>();
}

std::string Fields::text_or(const char* key, const std::string& fallback) const {
    return has(key) ? text(key) : fallback;
}

double Fields::number(const char* key) const {
    if (!has(key)) fail(key, "missing field");
    double v = 0;
    if (!node_[key].IsScalar() || !YAML::convert<double>::decode(node_[key], v) ||
        !std::isfinite(v))
        fail(key, "expected a number, got '" + YAML::Dump(node_[key]) + "'");
    return v;
}

double Fields::positive(const char* key) const {
    const double v = number(key);
    if (v <= 0) fail(key, "must be positive, got " + YAML::Dump(node_[key]));
    return v;
}

double Fields::positive_or(const char* key, double fallback) const {
    return has(key) ? positive(key) : fallback;
}

double Fields::fraction_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const double v = number(key);
    if (v < 0 || v > 1) fail(key, "must be between 0 and 1, got " + YAML::Dump(node_[key]));
    return v;
}

int Fields::count(const char* key) const {
    const double v = number(key);
    if (v < 1 || v != std::floor(v) || v > 1e9)
        fail(key, "must be a whole number >= 1, got " + YAML::Dump(node_[key]));
    return static_cast<int>(v);
}

int Fields::count_or(const char* key, int fallback) const {
    if (!has(key)) return fallback;
    const double v = number(key);
    if (v < 0 || v != std::floor(v) || v > 1e9)
        fail(key, "must be a whole number >= 0, got " + YAML::Dump(node_[key]));
    return static_cast<int>(v);
}

YAML::Node load_yaml_file(const std::string& file) {
    try {
        return YAML::LoadFile(file);
    } catch (const YAML::BadFile&) {
        throw ConfigError(file + ": cannot open file");
    } catch (const YAML::Exception& e) {
        throw ConfigError(file + ": " + e.what());
    }
}

}  // namespace ms::sim
