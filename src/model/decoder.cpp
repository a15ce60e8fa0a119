#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {

UnitChain build_uniform_decoder(const gguf::File& f, const HParams& hp,
                                const AttentionSpec& attention,
                                const std::optional<MoeSpec>& experts) {
    // Mixtral (llama.cpp's llama arch): softmax top-k renormalised, no shared expert.
    MoeSpec moe;
    if (experts)
        moe = *experts;
    else if (hp.n_expert > 0)
        moe = MoeSpec::softmax_routed(f, hp, true);
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
