// The model's KV caches as the scheduler's KvStore, so a request's blocks can be exported and
// imported (prefill/decode hand-over, KV pool): every cache of every attention unit in chain
// order, one layer each (keys and values are two).
#pragma once
#include <vector>

#include "scheduler/kv_store.h"

namespace ms::model {
class KvBlocks;
class Model;
}  // namespace ms::model

namespace ms::engine {

class ModelKvStore final : public scheduler::KvStore {
public:
    // Throws std::invalid_argument when no attention unit runs here (they are in workers).
    explicit ModelKvStore(model::Model& model);

    int32_t n_layers() const override { return int32_t(caches_.size()); }
    std::span<std::byte> block_bytes(int32_t layer, scheduler::BlockId block) override;
    std::span<const std::byte> block_bytes(int32_t layer, scheduler::BlockId block) const override;

private:
    std::vector<model::KvBlocks*> caches_;
};

}  // namespace ms::engine
