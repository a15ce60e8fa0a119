#include "placement/placement.h"

#include <algorithm>
#include <regex>

namespace ms::placement {
namespace {

constexpr Transport kTransports[] = {Transport::inproc, Transport::shm, Transport::ucx};
constexpr UnitKind kUnitKinds[] = {UnitKind::embedding, UnitKind::attention, UnitKind::ffn,
                                   UnitKind::moe, UnitKind::head};
constexpr Dtype kDtypes[] = {Dtype::f32, Dtype::bf16, Dtype::fp16,
                             Dtype::fp8, Dtype::int8, Dtype::int4};

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

ExpertCounts parse_expert_counts(const Field& f) {
    f.expect_map().only_keys({"ep", "redundant_experts", "shared_replicas"});
    ExpertCounts c;
    c.ep = f.at("ep").whole_number(1);
    c.ep_origin = f.at("ep").origin();
    if (f.has("redundant_experts")) c.redundant_experts = f.at("redundant_experts").whole_number(0);
    if (f.has("shared_replicas")) {
        c.shared_replicas = f.at("shared_replicas").whole_number(0);
        c.shared_replicas_origin = f.at("shared_replicas").origin();
    }
    return c;
}

// Sets `value` and `origin` from `map.key` when present.
void read_count(const Field& map, const char* key, int min, int& value, Origin& origin) {
    if (!map.has(key)) return;
    value = map.at(key).whole_number(min);
    origin = map.at(key).origin();
}

}  // namespace

const std::vector<std::string> kLinkKeys = {"transport", "activations"};
const std::vector<std::string> kPlacementKeys = {"instances", "micro_batches", "attention", "moe",
                                                 "roles"};

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

const char* name(Dtype t) {
    switch (t) {
        case Dtype::f32:
            return "f32";
        case Dtype::bf16:
            return "bf16";
        case Dtype::fp16:
            return "fp16";
        case Dtype::fp8:
            return "fp8";
        case Dtype::int8:
            return "int8";
        case Dtype::int4:
            return "int4";
    }
    return "?";
}

double bytes(Dtype t) {
    switch (t) {
        case Dtype::f32:
            return 4;
        case Dtype::bf16:
        case Dtype::fp16:
            return 2;
        case Dtype::fp8:
        case Dtype::int8:
            return 1;
        case Dtype::int4:
            return 0.5;
    }
    return 0;
}

Dtype parse_dtype(const Field& f) {
    return parse_enum(f, kDtypes);
}

bool Role::holds(UnitKind kind) const {
    return std::any_of(units.begin(), units.end(),
                       [&](const UnitEntry& u) { return u.kind == kind; });
}

void refuse_renamed(const Field& map, const char* old_key, const std::string& replacement) {
    if (map.has(old_key))
        map.at(old_key).fail(std::string("'") + old_key + "' is no longer read: write " +
                             replacement);
}

Links parse_links(const Field& file_root) {
    Links l;
    if (file_root.has("transport")) {
        l.transport = parse_enum(file_root.at("transport"), kTransports);
        l.transport_origin = file_root.at("transport").origin();
    }
    if (file_root.has("activations")) {
        l.activations = parse_dtype(file_root.at("activations"));
        l.activations_origin = file_root.at("activations").origin();
    }
    return l;
}

Placement parse_placement(const Field& pool) {
    refuse_renamed(pool, "dp_groups", "attention: {dp: N}");
    refuse_renamed(pool, "afd",
                   "roles (devices holding attention and devices holding moe, as replicas)");
    Placement p;
    read_count(pool, "instances", 1, p.instances, p.instances_origin);
    read_count(pool, "micro_batches", 1, p.micro_batches, p.micro_batches_origin);
    if (pool.has("attention")) {
        const Field attention = pool.at("attention").expect_map();
        attention.only_keys({"dp", "tp"});
        read_count(attention, "dp", 1, p.dp, p.dp_origin);
        read_count(attention, "tp", 1, p.tp, p.tp_origin);
    }
    if (pool.has("moe")) {
        p.moe = parse_expert_counts(pool.at("moe"));
        p.moe_origin = pool.at("moe").origin();
    }
    if (pool.has("roles")) {
        const Field roles = pool.at("roles").expect_map();
        p.roles_origin = roles.origin();
        p.roles = parse_roles(roles);
    }
    return p;
}

}  // namespace ms::placement
