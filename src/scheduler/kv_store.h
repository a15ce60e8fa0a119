// The bytes behind KV block ids, as the KV manager sees them: one or more layers (a layer may be
// a model layer's keys, its values, or a latent cache), each block of a layer one contiguous run
// of bytes. The model's attention units implement it; export and import move blocks through it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "scheduler/block_pool.h"

namespace ms::scheduler {

class KvStore {
public:
    virtual ~KvStore() = default;
    virtual int32_t n_layers() const = 0;
    virtual std::span<std::byte> block_bytes(int32_t layer, BlockId block) = 0;
    virtual std::span<const std::byte> block_bytes(int32_t layer, BlockId block) const = 0;
};

}  // namespace ms::scheduler
