#include "engine/model_kv_store.h"

#include <stdexcept>

#include "model/kv_blocks.h"
#include "model/model.h"
#include "model/units.h"

namespace ms::engine {

ModelKvStore::ModelKvStore(model::Model& model) {
    for (const auto& unit : model.units())
        if (auto* holder = dynamic_cast<model::KvHolder*>(unit.get()))
            for (model::KvBlocks* cache : holder->kv_caches()) caches_.push_back(cache);
    if (caches_.empty())
        throw std::invalid_argument("kv store: no attention unit of the model runs here");
}

std::span<std::byte> ModelKvStore::block_bytes(int32_t layer, scheduler::BlockId block) {
    return caches_.at(size_t(layer))->block_bytes(block);
}

std::span<const std::byte> ModelKvStore::block_bytes(int32_t layer,
                                                     scheduler::BlockId block) const {
    return caches_.at(size_t(layer))->block_bytes(block);
}

}  // namespace ms::engine
