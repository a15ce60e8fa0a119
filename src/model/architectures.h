// Builders that turn a model file into its chain of units, one per architecture.
#pragma once
#include <memory>
#include <vector>

#include "model/hparams.h"
#include "model/unit.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

using UnitChain = std::vector<std::unique_ptr<Unit>>;

// Llama (dense, or Mixtral-style MoE when expert_count is set).
UnitChain build_llama(const gguf::File& f, HParams& hp);
// DeepSeek-V2/V3/R1, Kimi K2: MLA attention; leading dense FFN layers, then routed and shared
// experts.
UnitChain build_deepseek2(const gguf::File& f, HParams& hp);

}  // namespace ms::model
