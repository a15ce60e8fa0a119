// The runtime deployment: which units of a model run in which worker process, how the workers
// are replicated and joined, and the per-worker plan derived from it for one model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/hparams.h"
#include "placement/placement.h"

namespace ms::runtime {

// The parts of a deployment file the simulator's files share (placement/placement.h).
using placement::Address;
using placement::DeploymentError;
using placement::fail_at;
using placement::name;
using placement::Origin;
using placement::Role;
using placement::Transport;
using placement::UnitEntry;
using placement::UnitKind;

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
