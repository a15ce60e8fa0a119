#include "runtime/deployment/deployment.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "model/unit.h"

namespace ms::runtime {
namespace {

// A YAML node with the field path and position it was read from, so every error names both.
class Field {
public:
    Field(YAML::Node node, std::string file, std::string path)
        : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

    Origin origin() const {
        const YAML::Mark m = node_.Mark();
        return {path_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
    }
    [[noreturn]] void fail(const std::string& why) const { fail_at(file_, origin(), why); }
    const YAML::Node& node() const { return node_; }

    bool has(const char* key) const { return node_.IsMap() && node_[key]; }
    Field at(const char* key) const {
        if (!has(key)) fail(std::string("missing field '") + key + "'");
        return Field(node_[key], file_, join(key));
    }
    Field item(size_t i) const {
        return Field(node_[i], file_, path_ + "[" + std::to_string(i) + "]");
    }

    // The key and value of each entry of a map, in file order.
    std::vector<std::pair<Field, Field>> entries() const {
        std::vector<std::pair<Field, Field>> out;
        for (const auto& kv : node_) {
            const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
            out.emplace_back(Field(kv.first, file_, join(key.c_str())),
                             Field(kv.second, file_, join(key.c_str())));
        }
        return out;
    }
    Field first_key() const { return Field(node_.begin()->first, file_, path_); }
    Field expect_map() const {
        if (!node_.IsMap()) fail("expected a map");
        return *this;
    }
    Field expect_list() const {
        if (!node_.IsSequence()) fail("expected a list");
        return *this;
    }
    std::string text() const {
        if (!node_.IsScalar()) fail("expected a string");
        return node_.Scalar();
    }
    int whole_number(int min) const {
        double v = 0;
        if (!node_.IsScalar() || !YAML::convert<double>::decode(node_, v) || !std::isfinite(v) ||
            v != std::floor(v) || v < min || v > 1e9)
            fail("expected a whole number >= " + std::to_string(min) + ", got '" +
                 YAML::Dump(node_) + "'");
        return static_cast<int>(v);
    }
    // A number in (0, 1].
    double fraction() const {
        double v = 0;
        if (!node_.IsScalar() || !YAML::convert<double>::decode(node_, v) || !std::isfinite(v) ||
            v <= 0 || v > 1)
            fail("expected a number above 0 and at most 1, got '" + YAML::Dump(node_) + "'");
        return v;
    }
    bool boolean() const {
        bool v = false;
        if (!node_.IsScalar() || !YAML::convert<bool>::decode(node_, v))
            fail("expected true or false, got '" + YAML::Dump(node_) + "'");
        return v;
    }
    void only_keys(std::initializer_list<const char*> allowed) const {
        for (const auto& [key, value] : entries()) {
            const std::string k = key.text();
            if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }))
                key.fail("unknown field '" + k + "'");
        }
    }

private:
    std::string join(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

    YAML::Node node_;
    std::string file_;
    std::string path_;
};

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

constexpr Transport kTransports[] = {Transport::inproc, Transport::shm, Transport::ucx};
constexpr UnitKind kUnitKinds[] = {UnitKind::embedding, UnitKind::attention, UnitKind::ffn,
                                   UnitKind::moe, UnitKind::head};

// `all` or a list of whole numbers >= 0.
std::optional<std::vector<int>> parse_indices(const Field& f) {
    if (f.node().IsScalar() && f.node().Scalar() == "all") return std::nullopt;
    if (!f.node().IsSequence()) f.fail("expected 'all' or a list of indices");
    std::vector<int> out;
    for (size_t i = 0; i < f.node().size(); ++i) out.push_back(f.item(i).whole_number(0));
    if (out.empty()) f.fail("empty list");
    return out;
}

// `kind` (all layers, all experts) or `{kind: {layers: ..., experts: ...}}` (the head:
// `{head: {vocab_share: ...}}`).
UnitEntry parse_unit(const Field& f) {
    UnitEntry u;
    u.origin = f.origin();
    if (f.node().IsScalar()) {
        u.kind = parse_enum(f, kUnitKinds);
        return u;
    }
    if (!f.node().IsMap() || f.node().size() != 1)
        f.fail("expected a unit name or a one-key map like {attention: {layers: [0, 1]}}");
    const Field key = f.first_key();
    const std::string kind_name = key.text();
    u.kind = parse_enum(key, kUnitKinds);
    const Field spec = f.at(kind_name.c_str()).expect_map();
    if (u.kind == UnitKind::moe)
        spec.only_keys({"layers", "experts"});
    else if (u.kind == UnitKind::head)
        spec.only_keys({"layers", "vocab_share"});  // layers: refused below, by name
    else
        spec.only_keys({"layers"});
    if (u.kind == UnitKind::embedding || u.kind == UnitKind::head)
        if (spec.has("layers")) spec.at("layers").fail(kind_name + " has no layers");
    if (spec.has("layers")) {
        u.layers_origin = spec.at("layers").origin();
        u.layers = parse_indices(spec.at("layers"));
    }
    if (spec.has("experts")) {
        u.experts_origin = spec.at("experts").origin();
        u.experts = parse_indices(spec.at("experts"));
    }
    if (spec.has("vocab_share")) {
        u.vocab_share_origin = spec.at("vocab_share").origin();
        u.vocab_share = spec.at("vocab_share").fraction();
    }
    return u;
}

Role parse_role(const std::string& role_name, const Field& f) {
    f.expect_map().only_keys({"replicas", "units", "addresses", "launch"});
    Role r;
    r.name = role_name;
    if (f.has("replicas")) r.replicas = f.at("replicas").whole_number(1);
    if (f.has("launch")) {
        r.launch = f.at("launch").boolean();
        r.launch_origin = f.at("launch").origin();
    }
    const Field units = f.at("units").expect_list();
    for (size_t i = 0; i < units.node().size(); ++i) r.units.push_back(parse_unit(units.item(i)));
    if (r.units.empty()) units.fail("a role needs at least one unit");
    if (f.has("addresses")) {
        const Field addrs = f.at("addresses").expect_list();
        r.addresses_origin = addrs.origin();
        for (size_t i = 0; i < addrs.node().size(); ++i)
            r.addresses.push_back({addrs.item(i).text(), addrs.item(i).origin()});
    }
    return r;
}

// Role names name worker processes (`--role NAME`), so they are plain words, each used once.
std::vector<Role> parse_roles(const Field& roles) {
    static const std::regex plain_word(R"([A-Za-z0-9_\-]{1,64})");
    std::vector<Role> out;
    for (const auto& [key, value] : roles.entries()) {
        const std::string role_name = key.text();
        if (!std::regex_match(role_name, plain_word))
            key.fail("a role name is 1-64 letters, digits, '_' or '-', got '" + role_name + "'");
        for (const Role& r : out)
            if (r.name == role_name) key.fail("role '" + role_name + "' is defined twice");
        out.push_back(parse_role(role_name, value));
        out.back().origin = key.origin();  // errors about the role point at its name
    }
    if (out.empty()) roles.fail("no roles");
    return out;
}

Deployment build(const YAML::Node& node, const std::string& file) {
    if (node.IsNull()) fail_at(file, {"", 1, 1}, "empty file: expected a map with 'roles'");
    const Field root = Field(node, file, "").expect_map();
    root.only_keys({"name", "transport", "micro_batches", "dp_groups", "activations", "roles"});
    Deployment d;
    d.file = file;
    d.name = root.has("name") ? root.at("name").text() : file;
    if (root.has("transport")) d.transport = parse_enum(root.at("transport"), kTransports);
    if (root.has("micro_batches")) {
        const Field m = root.at("micro_batches");
        d.micro_batches = m.whole_number(1);
        if (d.micro_batches > model::kMaxMicroBatches)
            m.fail("at most " + std::to_string(model::kMaxMicroBatches) + " micro-batches, got " +
                   std::to_string(d.micro_batches));
    }
    if (root.has("dp_groups")) {
        const Field g = root.at("dp_groups");
        d.dp_groups = g.whole_number(1);
        if (d.dp_groups * d.micro_batches > model::kMaxMicroBatches)
            g.fail("DP groups times micro-batches must be at most " +
                   std::to_string(model::kMaxMicroBatches) + ", got " +
                   std::to_string(d.dp_groups) + " x " + std::to_string(d.micro_batches));
    }
    if (root.has("activations")) {
        const Field a = root.at("activations");
        const std::string dtype = a.text();
        if (dtype != "f32" && dtype != "int8") a.fail("expected f32 or int8, got '" + dtype + "'");
        d.int8_activations = dtype == "int8";
    }
    const Field roles = root.at("roles").expect_map();
    d.roles_origin = roles.origin();
    d.roles = parse_roles(roles);
    return d;
}

}  // namespace

void fail_at(const std::string& file, const Origin& where, const std::string& why) {
    const std::string field = where.path.empty() ? "" : where.path + ": ";
    throw DeploymentError(file + ":" + std::to_string(where.line) + ":" +
                          std::to_string(where.column) + ": " + field + why);
}

const char* name(Transport t) {
    switch (t) {
        case Transport::inproc:
            return "inproc";
        case Transport::shm:
            return "shm";
        case Transport::ucx:
            return "ucx";
    }
    return "?";
}

const char* name(UnitKind k) {
    switch (k) {
        case UnitKind::embedding:
            return "embedding";
        case UnitKind::attention:
            return "attention";
        case UnitKind::ffn:
            return "ffn";
        case UnitKind::moe:
            return "moe";
        case UnitKind::head:
            return "head";
    }
    return "?";
}

Deployment parse_deployment(const std::string& yaml_text, const std::string& origin_name) {
    YAML::Node node;
    try {
        node = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        fail_at(origin_name, {"", e.mark.line + 1, e.mark.column + 1}, e.msg);
    }
    return build(node, origin_name);
}

Deployment load_deployment(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw DeploymentError(file + ": cannot open file");
    std::stringstream text;
    text << in.rdbuf();
    return parse_deployment(text.str(), file);
}

Deployment colocated_deployment(const model::HParams& hp) {
    Role all;
    all.name = "colocated";
    const UnitKind kinds[] = {UnitKind::embedding, UnitKind::attention,
                              hp.n_expert > 0 ? UnitKind::moe : UnitKind::ffn, UnitKind::head};
    all.units.resize(std::size(kinds));
    for (size_t i = 0; i < std::size(kinds); ++i) all.units[i].kind = kinds[i];
    Deployment d;
    d.name = "colocated";
    d.file = "(built-in colocated deployment)";
    d.roles.push_back(std::move(all));
    return d;
}

}  // namespace ms::runtime
