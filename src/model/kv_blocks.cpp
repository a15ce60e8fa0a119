#include "model/kv_blocks.h"

#include <sys/mman.h>

#include <new>
#include <stdexcept>

namespace ms::model {

void UnmapFloats::operator()(float* p) const {
    munmap(p, bytes);
}

// Anonymous pages read as zero and take memory only once written.
void KvBlocks::reserve(int32_t n_blocks, int32_t block_size, int64_t width) {
    data_.reset();
    block_size_ = block_size;
    width_ = width;
    n_floats_ = size_t(n_blocks) * size_t(block_size) * size_t(width);
    if (n_floats_ == 0) return;
    const size_t bytes = n_floats_ * sizeof(float);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = std::unique_ptr<float, UnmapFloats>(static_cast<float*>(p), UnmapFloats{bytes});
}

int64_t KvBlocks::n_blocks() const {
    return block_size_ ? int64_t(n_floats_) / (block_size_ * width_) : 0;
}

size_t KvBlocks::offset(std::span<const int32_t> table, int32_t pos) const {
    const int32_t block = table[size_t(pos / block_size_)];
    return (size_t(block) * size_t(block_size_) + size_t(pos % block_size_)) * size_t(width_);
}

std::span<std::byte> KvBlocks::block_bytes(int32_t block) {
    if (block < 0 || block >= n_blocks())
        throw std::out_of_range("KV block " + std::to_string(block) + " out of range");
    const size_t floats = size_t(block_size_) * size_t(width_);
    return std::as_writable_bytes(std::span(data_.get() + size_t(block) * floats, floats));
}

// Every table entry once, then every token's position against its own table.
void KvBlocks::check(const Batch& batch, const std::string& owner) const {
    if (block_size_ != batch.block_size)
        throw std::out_of_range(owner + ": batch block size " + std::to_string(batch.block_size) +
                                " differs from the KV store's");
    for (const auto& table : batch.block_tables)
        for (int32_t b : table)
            if (b < 0 || b >= n_blocks())
                throw std::out_of_range(owner + ": KV block " + std::to_string(b) +
                                        " out of range");
    for (int64_t i = 0; i < batch.size(); ++i) {
        const auto& table = batch.block_tables.at(size_t(batch.seq[size_t(i)]));
        const int32_t pos = batch.pos[size_t(i)];
        if (pos < 0 || size_t(pos / block_size_) >= table.size())
            throw std::out_of_range(owner + ": position " + std::to_string(pos) +
                                    " has no KV block");
    }
}

}  // namespace ms::model
