#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {

UnitChain build_llama(const gguf::File& f, HParams& hp) {
    hp.rope_layout = RopeLayout::AdjacentPairs;  // llama.cpp's converter permutes Q/K for it
    MoeSpec moe;
    if (hp.n_expert > 0) {  // Mixtral: softmax top-k, renormalised (as llama.cpp hard-codes)
        moe = MoeSpec::from_gguf(f, hp);
        moe.routing.score = RoutingPolicy::Score::Softmax;
        moe.routing.normalize = true;
    }
    UnitChain chain;
    chain.push_back(make_embedding(f, hp));
    for (int64_t layer = 0; layer < hp.n_layer; ++layer) {
        chain.push_back(make_attention(f, hp, layer));
        chain.push_back(hp.n_expert > 0 ? make_moe(f, hp, layer, moe) : make_ffn(f, hp, layer));
    }
    chain.push_back(make_head(f, hp));
    return chain;
}

}  // namespace ms::model
