// The runtime deployment: which units of a model run in which worker process, how the workers
// are replicated and joined, and the per-worker plan derived from it for one model.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/hparams.h"

namespace ms::runtime {

// A bad deployment file or one that does not fit the model. The message names the file, line,
// column and field path, e.g. "d.yaml:12:7: roles.moe-a.units[0].moe.experts[1]: ...".
class DeploymentError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Transport { inproc, shm, ucx };
enum class UnitKind { embedding, attention, ffn, moe, head };

const char* name(Transport t);
const char* name(UnitKind k);

// Where a value came from, for error messages (line and column are 1-based; 0 = unknown).
struct Origin {
    std::string path;  // field path, e.g. roles.attention.units[1]
    int line = 0;
    int column = 0;
};

// Throws DeploymentError("FILE:LINE:COL: PATH: why").
[[noreturn]] void fail_at(const std::string& file, const Origin& where, const std::string& why);

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

// A group of identical workers. Replicas of a role holding attention are attention
// data-parallel groups (each keeps its own KV cache and requests); replicas of other roles are
// interchangeable stateless copies.
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
};

struct Deployment {
    std::string name;
    std::string file;  // empty for the built-in default
    Transport transport = Transport::inproc;
    int micro_batches = 1;
    // Attention data-parallel groups in the front end: each its own requests and KV blocks,
    // taking turns on the front end's cores so one computes while another waits for a worker.
    int dp_groups = 1;
    bool int8_activations = false;  // quantize activations to INT8 in transit
    std::vector<Role> roles;
    Origin roles_origin;
};

// Parses a deployment file (throws DeploymentError). Structure only; check it against a model
// with plan_workers().
Deployment load_deployment(const std::string& file);
Deployment parse_deployment(const std::string& yaml_text, const std::string& origin_name);

// The default deployment: every unit of the model in one process, one micro-batch.
Deployment colocated_deployment(const model::HParams& hp);

// What one worker runs, resolved against the model.
struct LayerExperts {
    int layer = 0;
    std::vector<int> experts;
};

struct WorkerPlan {
    std::string name;  // role/replica, e.g. "attention/0"
    std::string role;
    int replica = 0;
    std::string address;
    int dp_group = -1;   // attention data-parallel group, -1 when the worker holds no attention
    bool launch = true;  // started by the front end (else it connects on its own)
    bool embedding = false;
    bool head = false;
    // The rows of the output matrix (vocabulary ids) its head computes: all of them unless the
    // head is shared between workers.
    int64_t head_first_row = 0;
    int64_t head_rows = 0;
    std::vector<int> attention_layers;
    std::vector<int> ffn_layers;
    std::vector<LayerExperts> moe_experts;  // routed experts per MoE layer
    std::vector<std::string> peers;         // workers it exchanges activations with
};

struct PlanOptions {
    bool loopback_only = true;  // refuse UCX addresses outside 127.0.0.0/8
};

// Validates the deployment against the model and derives each worker's plan, in role order then
// replica order. Throws DeploymentError naming the offending field and its line.
std::vector<WorkerPlan> plan_workers(const Deployment& d, const model::HParams& hp,
                                     const PlanOptions& options = {});

}  // namespace ms::runtime
