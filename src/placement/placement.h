// The placement vocabulary runtime and simulator deployment files share (docs/deployment.md):
// which units run in which role, with what parallelism, joined how. A runtime file is one pool
// whose keys sit at its top level; a simulator file has them in each of its pools and adds its
// hardware, model and workload sections.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "placement/yaml_field.h"

namespace ms::placement {

enum class Transport { inproc, shm, ucx };
enum class UnitKind { embedding, attention, ffn, moe, head };
enum class Dtype { f32, bf16, fp16, fp8, int8, int4 };

const char* name(Transport t);
const char* name(UnitKind k);
const char* name(Dtype t);
double bytes(Dtype t);  // per element
Dtype parse_dtype(const Field& f);

// One entry of a role's `units` list. Empty optionals mean "all layers" / "all experts".
struct UnitEntry {
    UnitKind kind = UnitKind::embedding;
    std::optional<std::vector<int>> layers;
    std::optional<std::vector<int>> experts;  // moe only
    // head only: the part of the vocabulary this role's head computes, when several roles share
    // the head (each computes the logits of its rows of the output matrix).
    std::optional<double> vocab_share;
    Origin origin;
    Origin layers_origin;
    Origin experts_origin;
    Origin vocab_share_origin;
};

// A shm segment name, or host:port for UCX.
struct Address {
    std::string value;
    Origin origin;
};

// A group of identical workers (runtime) or devices (simulator). In the runtime, replicas of a
// role holding attention are attention data-parallel groups (each keeps its own KV cache and
// requests); replicas of other roles are interchangeable stateless copies.
struct Role {
    std::string name;
    int replicas = 1;
    // false: the front end does not start this role's workers but waits for them to connect
    // (started by hand or by another host's process manager: `matrixserve worker`), and waits
    // again for one that died to be restarted.
    bool launch = true;
    Origin launch_origin;
    std::vector<UnitEntry> units;
    std::vector<Address> addresses;  // one per replica; empty for inproc
    Origin origin;
    Origin addresses_origin;

    bool holds(UnitKind kind) const;
};

// `moe: {ep, redundant_experts, shared_replicas}`: experts spread by counts (the simulator; the
// runtime names each worker's experts in its role's units).
struct ExpertCounts {
    int ep = 1;                 // devices holding routed experts
    int redundant_experts = 0;  // extra copies of hot experts
    int shared_replicas = 0;    // shared-expert copies among the expert devices (0: local)
    Origin ep_origin;
    Origin shared_replicas_origin;
};

// What the units of the whole file travel over: `transport` and `activations` (the element
// type of activations in transit). Unset when the file leaves them out.
struct Links {
    std::optional<Transport> transport;
    Origin transport_origin;
    std::optional<Dtype> activations;
    Origin activations_origin;
};

// One pool's placement. Origins of keys the file leaves out have line 0.
struct Placement {
    int instances = 1;  // independent copies
    Origin instances_origin;
    int micro_batches = 1;  // at most this many overlapped micro-batches
    Origin micro_batches_origin;
    int dp = 1;  // attention: {dp}: attention data-parallel groups
    int tp = 1;  // attention: {tp}: attention tensor parallelism inside a group
    Origin dp_origin;
    Origin tp_origin;
    std::optional<ExpertCounts> moe;
    Origin moe_origin;
    std::vector<Role> roles;  // which units each role holds; empty when the file has none
    Origin roles_origin;
};

// The keys parse_links and parse_placement read, for a caller's only_keys list.
extern const std::vector<std::string> kLinkKeys;
extern const std::vector<std::string> kPlacementKeys;

Links parse_links(const Field& file_root);
// Refuses the keys older files spelled otherwise, naming the new one.
Placement parse_placement(const Field& pool);
// Fails at `map.old_key` when present, telling to write `replacement` instead.
void refuse_renamed(const Field& map, const char* old_key, const std::string& replacement);

}  // namespace ms::placement
