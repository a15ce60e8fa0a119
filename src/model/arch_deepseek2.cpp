#include <stdexcept>

#include "gguf/gguf.h"
#include "model/architectures.h"
#include "model/attention_mla.h"
#include "model/units.h"

namespace ms::model {
namespace {

// Routed experts plus DeepSeek's shared experts: always on, weight 1, n_shared experts fused
// into one block n_shared times an expert's width.
MoeSpec deepseek_moe(const gguf::File& f, const HParams& hp) {
    MoeSpec spec = MoeSpec::from_gguf(f, hp);
    if (hp.n_expert_shared > 0) {
        spec.shared = MoeSpec::Shared::Always;
        spec.n_ff_shared = hp.n_expert_shared * spec.n_ff_expert;
    }
    return spec;
}

}  // namespace

UnitChain build_deepseek2(const gguf::File& f, HParams& hp) {
    // Multi-token-prediction blocks stored after the trunk serve speculative drafting only.
    hp.n_layer -= hp.n_nextn;
    if (f.has(hp.arch + ".attention.temperature_scale"))
        throw std::runtime_error("model: " + hp.arch +
                                 ".attention.temperature_scale (attention temperature tuning) "
                                 "is not supported");
    const MlaSpec mla = MlaSpec::from_gguf(f, hp);
    const int64_t n_dense = hp.n_layer_dense_lead;
    MoeSpec moe;
    if (n_dense < hp.n_layer) {
        if (hp.n_expert == 0)
            throw std::runtime_error("model: " + hp.arch +
                                     ".expert_count missing, but layers past "
                                     "leading_dense_block_count are mixtures of experts");
        moe = deepseek_moe(f, hp);
    }
    UnitChain chain;
    chain.push_back(make_embedding(f, hp));
    for (int64_t layer = 0; layer < hp.n_layer; ++layer) {
        chain.push_back(make_mla_attention(f, hp, layer, mla));
        chain.push_back(layer < n_dense ? make_ffn(f, hp, layer) : make_moe(f, hp, layer, moe));
    }
    chain.push_back(make_head(f, hp));
    return chain;
}

}  // namespace ms::model
