#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {
namespace {

// Mixtral (llama.cpp's llama arch): softmax top-k, renormalised, no shared expert.
MoeSpec mixtral_experts(const gguf::File& f, const HParams& hp) {
    MoeSpec spec = MoeSpec::from_gguf(f, hp);
    spec.routing.score = RoutingPolicy::Score::Softmax;
    spec.routing.normalize = true;
    return spec;
}

}  // namespace

UnitChain build_uniform_decoder(const gguf::File& f, const HParams& hp,
                                const AttentionSpec& attention,
                                const std::optional<MoeSpec>& experts) {
    const MoeSpec moe = experts ? *experts : (hp.n_expert > 0 ? mixtral_experts(f, hp) : MoeSpec{});
    UnitChain chain;
    chain.push_back(make_embedding(f, hp));
    for (int64_t layer = 0; layer < hp.n_layer; ++layer) {
        chain.push_back(make_attention(f, hp, layer, attention));
        chain.push_back(hp.n_expert > 0 ? make_moe(f, hp, layer, moe) : make_ffn(f, hp, layer));
    }
    chain.push_back(make_head(f, hp));
    return chain;
}

}  // namespace ms::model
