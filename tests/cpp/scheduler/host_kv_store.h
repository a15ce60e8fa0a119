// KV blocks in plain host memory, filled with a pattern: a KvStore for the manager's tests.
#pragma once
#include <cstddef>
#include <vector>

#include "scheduler/kv_store.h"

namespace ms::scheduler {

class HostKvStore final : public KvStore {
public:
    HostKvStore(std::vector<size_t> layer_block_bytes, int32_t n_blocks)
        : layer_bytes_(std::move(layer_block_bytes)), n_blocks_(n_blocks) {
        for (size_t bytes : layer_bytes_) data_.emplace_back(bytes * size_t(n_blocks));
    }
    int32_t n_layers() const override { return int32_t(layer_bytes_.size()); }
    std::span<std::byte> block_bytes(int32_t layer, BlockId block) override {
        return std::span(data_.at(size_t(layer))).subspan(offset(layer, block), size(layer));
    }
    std::span<const std::byte> block_bytes(int32_t layer, BlockId block) const override {
        return std::span(data_.at(size_t(layer))).subspan(offset(layer, block), size(layer));
    }
    void fill(unsigned seed) {
        for (auto& layer : data_)
            for (auto& b : layer) b = std::byte(seed = seed * 1103515245u + 12345u);
    }

private:
    size_t size(int32_t layer) const { return layer_bytes_.at(size_t(layer)); }
    size_t offset(int32_t layer, BlockId block) const {
        if (block < 0 || block >= n_blocks_) throw std::out_of_range("host kv store: block");
        return size_t(block) * size(layer);
    }
    std::vector<size_t> layer_bytes_;
    int32_t n_blocks_;
    std::vector<std::vector<std::byte>> data_;
};

}  // namespace ms::scheduler
