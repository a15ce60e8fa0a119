// Checking a deployment against a model and deriving what each worker runs and whom it talks to.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <regex>
#include <set>

#include "runtime/deployment/deployment.h"

namespace ms::runtime {
namespace {

std::string number_text(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

std::string list_text(const std::vector<int>& v) {
    std::string s;
    for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
    return s;
}

std::vector<int> all_indices(int64_t n) {
    std::vector<int> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

// Resolves `all` and checks every index is below `limit` and listed once.
std::vector<int> resolve(const Deployment& d, const std::optional<std::vector<int>>& listed,
                         const Origin& where, int64_t limit, const std::string& what) {
    if (!listed) return all_indices(limit);
    std::set<int> seen;
    for (int i : *listed) {
        if (i >= limit)
            fail_at(d.file, where,
                    what + " " + std::to_string(i) + " is out of range: the model has " +
                        std::to_string(limit) + " " + what + "s (0-" + std::to_string(limit - 1) +
                        ")");
        if (!seen.insert(i).second)
            fail_at(d.file, where, what + " " + std::to_string(i) + " is listed twice");
    }
    return *listed;
}

// The units of one role, resolved against the model.
struct RoleUnits {
    bool embedding = false;
    bool head = false;
    std::optional<double> vocab_share;  // of the head
    Origin vocab_share_origin;
    int64_t head_first_row = 0;  // set by place_head
    int64_t head_rows = 0;
    std::vector<int> attention_layers;
    std::vector<int> ffn_layers;
    std::map<int, std::vector<int>> experts;  // layer -> routed experts
    bool holds_attention() const { return !attention_layers.empty(); }
};

void add_moe(const Deployment& d, const UnitEntry& u, const model::HParams& hp, RoleUnits& r) {
    if (hp.n_expert == 0)
        fail_at(d.file, u.origin,
                "model " + hp.name + " is dense (no experts): place its FFN with 'ffn'");
    const std::vector<int> experts = resolve(d, u.experts, u.experts_origin, hp.n_expert, "expert");
    for (int layer : resolve(d, u.layers, u.layers_origin, hp.n_layer, "layer")) {
        std::vector<int>& held = r.experts[layer];
        for (int e : experts) {
            if (std::find(held.begin(), held.end(), e) != held.end())
                fail_at(d.file, u.origin,
                        "expert " + std::to_string(e) + " of layer " + std::to_string(layer) +
                            " is already in this role");
            held.push_back(e);
        }
        std::sort(held.begin(), held.end());
    }
}

void append_layers(const Deployment& d, const UnitEntry& u, const model::HParams& hp,
                   std::vector<int>& into) {
    for (int layer : resolve(d, u.layers, u.layers_origin, hp.n_layer, "layer")) {
        if (std::find(into.begin(), into.end(), layer) != into.end())
            fail_at(d.file, u.origin,
                    std::string(name(u.kind)) + " of layer " + std::to_string(layer) +
                        " is already in this role");
        into.push_back(layer);
    }
    std::sort(into.begin(), into.end());
}

void add_single(const Deployment& d, const UnitEntry& u, bool& held) {
    if (held) fail_at(d.file, u.origin, std::string(name(u.kind)) + " is listed twice");
    held = true;
}

RoleUnits resolve_role(const Deployment& d, const Role& role, const model::HParams& hp) {
    RoleUnits r;
    for (const UnitEntry& u : role.units) {
        switch (u.kind) {
            case UnitKind::embedding:
                add_single(d, u, r.embedding);
                break;
            case UnitKind::head:
                add_single(d, u, r.head);
                r.vocab_share = u.vocab_share;
                r.vocab_share_origin = u.vocab_share_origin;
                break;
            case UnitKind::attention:
                append_layers(d, u, hp, r.attention_layers);
                break;
            case UnitKind::ffn:
                append_layers(d, u, hp, r.ffn_layers);
                break;
            case UnitKind::moe:
                add_moe(d, u, hp, r);
                break;
        }
    }
    return r;
}

// The role holding the embedding (exactly one must), or the first duplicate is reported.
size_t embedding_holder(const Deployment& d, const std::vector<RoleUnits>& units) {
    std::optional<size_t> holder;
    for (size_t i = 0; i < units.size(); ++i) {
        if (!units[i].embedding) continue;
        if (holder)
            fail_at(d.file, d.roles[i].origin,
                    "embedding is already placed in role '" + d.roles[*holder].name + "'");
        holder = i;
    }
    if (!holder) fail_at(d.file, d.roles_origin, "no role holds the embedding");
    return *holder;
}

// Several holders of the head must each give a vocab_share, run one replica, and their shares
// must add up to 1 (a sole holder's share, if given, must be 1).
void check_head_shares(const Deployment& d, const std::vector<RoleUnits>& units,
                       const std::vector<size_t>& holders) {
    const bool shared = holders.size() > 1;
    double total = 0;
    for (size_t i : holders) {
        if (shared && !units[i].vocab_share)
            fail_at(d.file, d.roles[holders[1]].origin,
                    "head is already placed in role '" + d.roles[holders[0]].name +
                        "'; roles that share it each give a vocab_share");
        if (shared && d.roles[i].replicas != 1)
            fail_at(d.file, d.roles[i].origin, "a role sharing the head runs one replica");
        total += units[i].vocab_share.value_or(1.0);
    }
    if (std::abs(total - 1.0) > 1e-6)
        fail_at(d.file, units[holders.back()].vocab_share_origin,
                "the head's vocab_share values add up to " + number_text(total) + ", not 1");
}

// The roles holding the head, each given its rows of the vocabulary: all of them for a sole
// holder; else consecutive slices by vocab_share, in role order, cut at multiples of 64 rows.
std::vector<size_t> place_head(const Deployment& d, std::vector<RoleUnits>& units,
                               int64_t n_vocab) {
    std::vector<size_t> holders;
    for (size_t i = 0; i < units.size(); ++i)
        if (units[i].head) holders.push_back(i);
    if (holders.empty()) fail_at(d.file, d.roles_origin, "no role holds the head");
    check_head_shares(d, units, holders);
    constexpr int64_t kCut = 64;
    double share_before = 0;
    int64_t first = 0;
    for (size_t k = 0; k < holders.size(); ++k) {
        RoleUnits& u = units[holders[k]];
        share_before += u.vocab_share.value_or(1.0);
        const int64_t cut = std::llround(share_before * double(n_vocab) / kCut) * kCut;
        const int64_t end = k + 1 == holders.size() ? n_vocab : std::min(n_vocab, cut);
        if (end <= first)
            fail_at(d.file, u.vocab_share_origin,
                    "vocab_share " + number_text(*u.vocab_share) +
                        " leaves this role no rows of the " + std::to_string(n_vocab) +
                        "-token vocabulary");
        u.head_first_row = first;
        u.head_rows = end - first;
        first = end;
    }
    return holders;
}

// Per layer, the one role holding its attention.
std::vector<size_t> attention_holders(const Deployment& d, const std::vector<RoleUnits>& units,
                                      int64_t n_layer) {
    std::vector<std::optional<size_t>> holder(static_cast<size_t>(n_layer));
    for (size_t i = 0; i < units.size(); ++i)
        for (int layer : units[i].attention_layers) {
            if (holder[layer])
                fail_at(d.file, d.roles[i].origin,
                        "attention of layer " + std::to_string(layer) +
                            " is already placed in role '" + d.roles[*holder[layer]].name + "'");
            holder[layer] = i;
        }
    std::vector<int> missing;
    std::vector<size_t> out;
    for (size_t l = 0; l < holder.size(); ++l) {
        if (!holder[l]) missing.push_back(static_cast<int>(l));
        out.push_back(holder[l].value_or(0));
    }
    if (!missing.empty())
        fail_at(d.file, d.roles_origin,
                "no role holds the attention of layers " + list_text(missing));
    return out;
}

// Per layer, the roles holding its FFN: one dense FFN, or MoE experts covering every expert.
std::vector<std::vector<size_t>> ffn_holders(const Deployment& d,
                                             const std::vector<RoleUnits>& units,
                                             const model::HParams& hp) {
    std::vector<std::vector<size_t>> out(static_cast<size_t>(hp.n_layer));
    for (int layer = 0; layer < hp.n_layer; ++layer) {
        std::vector<size_t> dense;
        std::set<int> covered;
        for (size_t i = 0; i < units.size(); ++i) {
            const auto& ffn = units[i].ffn_layers;
            if (std::find(ffn.begin(), ffn.end(), layer) != ffn.end()) dense.push_back(i);
            if (auto it = units[i].experts.find(layer); it != units[i].experts.end()) {
                covered.insert(it->second.begin(), it->second.end());
                out[layer].push_back(i);
            }
        }
        const std::string which = "layer " + std::to_string(layer);
        if (dense.size() > 1)
            fail_at(d.file, d.roles[dense[1]].origin,
                    "the FFN of " + which + " is already placed in role '" +
                        d.roles[dense[0]].name + "'");
        if (!dense.empty() && !covered.empty())
            fail_at(d.file, d.roles[dense[0]].origin,
                    which + " has both a dense FFN (role '" + d.roles[dense[0]].name +
                        "') and MoE experts (role '" + d.roles[out[layer][0]].name + "')");
        if (!dense.empty()) {
            out[layer] = dense;
            continue;
        }
        if (covered.empty())
            fail_at(d.file, d.roles_origin, "no role holds the FFN or experts of " + which);
        std::vector<int> homeless;
        for (int e = 0; e < hp.n_expert; ++e)
            if (!covered.count(e)) homeless.push_back(e);
        if (!homeless.empty())
            fail_at(d.file, d.roles_origin,
                    "experts " + list_text(homeless) + " of " + which + " have no home");
    }
    return out;
}

// Attention replicas are data-parallel groups; a layer-split group must line up replica by
// replica, so every role holding attention has the same replica count.
void check_dp_groups(const Deployment& d, const std::vector<RoleUnits>& units) {
    std::optional<size_t> first;
    for (size_t i = 0; i < units.size(); ++i) {
        if (!units[i].holds_attention()) continue;
        if (first && d.roles[i].replicas != d.roles[*first].replicas)
            fail_at(d.file, d.roles[i].origin,
                    "replicas " + std::to_string(d.roles[i].replicas) + " differs from role '" +
                        d.roles[*first].name + "' (" + std::to_string(d.roles[*first].replicas) +
                        "): roles holding attention form data-parallel groups together");
        if (!first) first = i;
    }
}

void check_address(const Deployment& d, const Address& a, const PlanOptions& options) {
    static const std::regex shm_name(R"([A-Za-z0-9_.\-]{1,200})");
    static const std::regex host_port(R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5}))");
    if (d.transport == Transport::shm) {
        if (!std::regex_match(a.value, shm_name))
            fail_at(d.file, a.origin,
                    "'" + a.value + "' is not a shm name (letters, digits, '_', '.', '-')");
        return;
    }
    std::smatch m;
    if (!std::regex_match(a.value, m, host_port))
        fail_at(d.file, a.origin, "'" + a.value + "' is not an IPv4 host:port");
    for (int i = 1; i <= 4; ++i)
        if (std::stoi(m[i]) > 255) fail_at(d.file, a.origin, "'" + a.value + "' has a bad host");
    const int port = std::stoi(m[5]);
    if (port < 1 || port > 65535)
        fail_at(d.file, a.origin, "port " + std::to_string(port) + " is outside 1-65535");
    if (options.loopback_only && m[1] != "127")
        fail_at(d.file, a.origin, "'" + a.value + "' is not a loopback address (127.x.x.x)");
}

void check_addresses(const Deployment& d, const PlanOptions& options) {
    std::map<std::string, std::string> used;  // address -> role
    for (const Role& r : d.roles) {
        if (d.transport == Transport::inproc) {
            if (!r.launch)
                fail_at(d.file, r.launch_origin,
                        "inproc workers are threads of the front end: they cannot be started "
                        "elsewhere");
            if (!r.addresses.empty())
                fail_at(d.file, r.addresses_origin,
                        "inproc workers share one process and take no address");
            continue;
        }
        if (r.addresses.size() != static_cast<size_t>(r.replicas))
            fail_at(d.file, r.addresses.empty() ? r.origin : r.addresses_origin,
                    std::string(name(d.transport)) +
                        " needs one address per replica: " + std::to_string(r.replicas) +
                        " replicas, " + std::to_string(r.addresses.size()) + " addresses");
        for (const Address& a : r.addresses) {
            check_address(d, a, options);
            if (auto [it, fresh] = used.emplace(a.value, r.name); !fresh)
                fail_at(d.file, a.origin,
                        "address '" + a.value + "' is already used by role '" + it->second + "'");
        }
    }
}

// Role pairs that exchange activations: embedding -> attention(0); each layer's attention
// <-> its FFN or expert holders (request and reply); attention(l) -> attention(l+1);
// last attention -> each holder of the head.
std::set<std::pair<size_t, size_t>> role_links(const std::vector<size_t>& attention,
                                               const std::vector<std::vector<size_t>>& ffn,
                                               size_t embedding, const std::vector<size_t>& head) {
    std::set<std::pair<size_t, size_t>> links;
    auto link = [&](size_t a, size_t b) {
        if (a != b) links.insert({std::min(a, b), std::max(a, b)});
    };
    link(embedding, attention.front());
    for (size_t l = 0; l < attention.size(); ++l) {
        for (size_t f : ffn[l]) link(attention[l], f);
        if (l + 1 < attention.size()) link(attention[l], attention[l + 1]);
    }
    for (size_t h : head) link(attention.back(), h);
    return links;
}

std::string worker_name(const Role& r, int replica) {
    return r.name + "/" + std::to_string(replica);
}

WorkerPlan plan_for(const Deployment& d, size_t role, int replica, const RoleUnits& u) {
    const Role& r = d.roles[role];
    WorkerPlan p;
    p.name = worker_name(r, replica);
    p.role = r.name;
    p.replica = replica;
    if (!r.addresses.empty()) p.address = r.addresses[static_cast<size_t>(replica)].value;
    p.dp_group = u.holds_attention() ? replica : -1;
    p.launch = r.launch;
    p.embedding = u.embedding;
    p.head = u.head;
    p.head_first_row = u.head_first_row;
    p.head_rows = u.head_rows;
    p.attention_layers = u.attention_layers;
    p.ffn_layers = u.ffn_layers;
    for (const auto& [layer, experts] : u.experts) p.moe_experts.push_back({layer, experts});
    return p;
}

// Expands role links to workers: data-parallel attention roles pair replica i with replica i;
// any other link joins every replica with every replica.
void add_peers(const Deployment& d, const std::vector<RoleUnits>& units,
               const std::set<std::pair<size_t, size_t>>& links,
               const std::vector<size_t>& first_worker, std::vector<WorkerPlan>& plans) {
    for (const auto& [a, b] : links) {
        const bool paired = units[a].holds_attention() && units[b].holds_attention();
        for (int i = 0; i < d.roles[a].replicas; ++i)
            for (int j = 0; j < d.roles[b].replicas; ++j) {
                if (paired && i != j) continue;
                WorkerPlan& pa = plans[first_worker[a] + static_cast<size_t>(i)];
                WorkerPlan& pb = plans[first_worker[b] + static_cast<size_t>(j)];
                pa.peers.push_back(pb.name);
                pb.peers.push_back(pa.name);
            }
    }
    for (WorkerPlan& p : plans) std::sort(p.peers.begin(), p.peers.end());
}

}  // namespace

std::vector<WorkerPlan> plan_workers(const Deployment& d, const model::HParams& hp,
                                     const PlanOptions& options) {
    if (hp.n_layer < 1) throw DeploymentError("model " + hp.name + " has no layers");
    std::vector<RoleUnits> units;
    for (const Role& r : d.roles) units.push_back(resolve_role(d, r, hp));
    const size_t embedding = embedding_holder(d, units);
    const std::vector<size_t> head = place_head(d, units, hp.n_vocab);
    const std::vector<size_t> attention = attention_holders(d, units, hp.n_layer);
    const std::vector<std::vector<size_t>> ffn = ffn_holders(d, units, hp);
    check_dp_groups(d, units);
    check_addresses(d, options);

    std::vector<WorkerPlan> plans;
    std::vector<size_t> first_worker;
    for (size_t i = 0; i < d.roles.size(); ++i) {
        first_worker.push_back(plans.size());
        for (int r = 0; r < d.roles[i].replicas; ++r) plans.push_back(plan_for(d, i, r, units[i]));
    }
    add_peers(d, units, role_links(attention, ffn, embedding, head), first_worker, plans);
    return plans;
}

}  // namespace ms::runtime
