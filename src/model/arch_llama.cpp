#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {

// Adjacent-pair RoPE (llama.cpp's converter permutes Q/K for it), no bias, no QK-norm.
UnitChain build_llama(const gguf::File& f, HParams& hp) {
    return build_uniform_decoder(f, hp, standard_attention(hp));
}

}  // namespace ms::model
