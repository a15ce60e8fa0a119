// Reading deployment YAML with errors that name the file, line, column and field path, e.g.
// "d.yaml:12:7: roles.moe-a.units[0].moe.experts[1]: expected a whole number >= 0, got 'x'".
#pragma once
#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ms::placement {

// A bad deployment file or one that does not fit the model.
class DeploymentError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where a value came from (line and column are 1-based; 0 = not in the file).
struct Origin {
    std::string path;  // field path, e.g. roles.attention.units[1]
    int line = 0;
    int column = 0;
};

// Throws DeploymentError("FILE:LINE:COL: PATH: why").
[[noreturn]] void fail_at(const std::string& file, const Origin& where, const std::string& why);

// A YAML node with the file, field path and position it was read from.
class Field {
public:
    Field(YAML::Node node, std::string file, std::string path)
        : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

    Origin origin() const;
    [[noreturn]] void fail(const std::string& why) const { fail_at(file_, origin(), why); }
    const YAML::Node& node() const { return node_; }
    const std::string& file() const { return file_; }

    bool has(const char* key) const { return node_.IsMap() && node_[key]; }
    Field at(const char* key) const;  // a required key
    Field item(size_t i) const;
    // The key and value of each entry of a map, in file order.
    std::vector<std::pair<Field, Field>> entries() const;
    Field first_key() const { return Field(node_.begin()->first, file_, path_); }

    Field expect_map() const;
    Field expect_list() const;
    std::string text() const;
    int whole_number(int min) const;  // at most 1e9
    double fraction() const;          // in (0, 1]
    bool boolean() const;
    // Fails at the first key not in `allowed`.
    void only_keys(const std::vector<std::string>& allowed) const;

private:
    std::string join(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

    YAML::Node node_;
    std::string file_;
    std::string path_;
};

// One of `values`, by name(value); else fails listing the choices.
template <typename Enum, size_t N>
Enum parse_enum(const Field& f, const Enum (&values)[N]) {
    const std::string s = f.text();
    std::string choices;
    for (Enum v : values) {
        if (s == name(v)) return v;
        choices += (choices.empty() ? "" : ", ") + std::string(name(v));
    }
    f.fail("expected one of " + choices + ", got '" + s + "'");
}

}  // namespace ms::placement
