#include "model/moe_spec.h"

#include <stdexcept>

#include "gguf/gguf.h"

namespace ms::model {

MoeSpec MoeSpec::from_gguf(const gguf::File& f, const HParams& hp) {
    const std::string p = hp.arch + ".";
    MoeSpec spec;
    auto& routing = spec.routing;
    routing.n_expert = hp.n_expert;
    routing.n_used = hp.n_expert_used;
    const uint32_t gating = f.get_u32(p + "expert_gating_func", 0);
    if (gating > 2)
        throw std::runtime_error("model: " + p + "expert_gating_func " + std::to_string(gating) +
                                 " is not supported (1 softmax, 2 sigmoid)");
    routing.score = gating == 2 ? RoutingPolicy::Score::Sigmoid : RoutingPolicy::Score::Softmax;
    routing.normalize = f.get_bool(p + "expert_weights_norm", false);
    const float scale = f.get_f32(p + "expert_weights_scale", 0.0f);
    routing.scale = scale == 0.0f ? 1.0f : scale;
    routing.n_groups = f.get_u32(p + "expert_group_count", 1);
    routing.n_groups_used = f.get_u32(p + "expert_group_used_count", 1);
    spec.n_ff_expert = hp.n_ff_expert > 0 ? hp.n_ff_expert : hp.n_ff;
    return spec;
}

MoeSpec MoeSpec::softmax_routed(const gguf::File& f, const HParams& hp, bool normalize) {
    if (hp.n_expert == 0)
        throw std::runtime_error("model: " + hp.arch + ".expert_count missing for a " + hp.arch +
                                 " mixture of experts");
    MoeSpec spec = from_gguf(f, hp);
    spec.routing.score = RoutingPolicy::Score::Softmax;
    spec.routing.normalize = normalize;
    return spec;
}

}  // namespace ms::model
