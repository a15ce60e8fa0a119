// Reading required and optional fields from YAML with errors that name the field's path.
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>

#include "sim/catalog.h"

namespace ms::sim {

class Fields {
public:
    Fields(const YAML::Node& node, std::string path);

    bool has(const char* key) const { return static_cast<bool>(node_[key]); }
    Fields child(const char* key) const;  // required map
    std::string text(const char* key) const;
    std::string text_or(const char* key, const std::string& fallback) const;
    double positive(const char* key) const;  // required, > 0
    double positive_or(const char* key, double fallback) const;
    double fraction_or(const char* key, double fallback) const;  // in [0, 1]
    int count(const char* key) const;                            // required integer >= 1
    int count_or(const char* key, int fallback) const;           // integer >= 0
    std::string path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
    const YAML::Node& node() const { return node_; }
    [[noreturn]] void fail(const char* key, const std::string& why) const;

private:
    double number(const char* key) const;

    YAML::Node node_;
    std::string path_;
};

YAML::Node load_yaml_file(const std::string& file);

}  // namespace ms::sim
