// What a mixture-of-experts layer consists of: the routing policy, the routed experts' width
// and the optional shared expert. Read from GGUF metadata; each builder then fixes what its
// architecture hard-codes (as llama.cpp does).
#pragma once
#include <cstdint>

#include "model/hparams.h"
#include "model/moe_routing.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

struct MoeSpec {
    // A shared expert sees every token: DeepSeek adds it with weight 1; Qwen2-MoE scales it by
    // sigmoid(ffn_gate_inp_shexp . x).
    enum class Shared { None, Always, SigmoidGated };

    RoutingPolicy routing;
    int64_t n_ff_expert = 0;  // each routed expert's hidden width
    Shared shared = Shared::None;
    int64_t n_ff_shared = 0;  // the shared expert's hidden width

    // Takes the routed experts' width from hp (n_ff_expert, else n_ff) and reads the routing
    // keys <arch>.expert_*: gating_func (1 softmax, 2 sigmoid; default softmax), weights_norm,
    // weights_scale (0 or absent: 1), group_count and group_used_count. The shared expert is
    // left to the builder.
    static MoeSpec from_gguf(const gguf::File& f, const HParams& hp);
    // from_gguf with softmax scores and the given renormalisation, as llama.cpp hard-codes for
    // Mixtral and the Qwen MoE models. Throws when the file sets no expert_count.
    static MoeSpec softmax_routed(const gguf::File& f, const HParams& hp, bool normalize);
};

}  // namespace ms::model
