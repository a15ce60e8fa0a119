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

}  // namespace ms::model
