#include "scheduler/block_pool.h"

#include <xxhash.h>

#include <stdexcept>

namespace ms::scheduler {

BlockHash chain_seed(const KvIdentity& id) {
    const std::string text = id.model + '\0' + std::to_string(id.block_size) + '\0' + id.dtype;
    return XXH3_64bits(text.data(), text.size());
}

BlockHash chain_hash(BlockHash parent, std::span<const int32_t> block_tokens) {
    return XXH3_64bits_withSeed(block_tokens.data(), block_tokens.size_bytes(), parent);
}

void extend_block_hashes(BlockHash seed, std::span<const int32_t> tokens, int32_t block_size,
                         std::vector<BlockHash>& hashes) {
    const size_t bs = size_t(block_size);
    while ((hashes.size() + 1) * bs <= tokens.size()) {
        const BlockHash parent = hashes.empty() ? seed : hashes.back();
        hashes.push_back(chain_hash(parent, tokens.subspan(hashes.size() * bs, bs)));
    }
}

BlockPool::BlockPool(int32_t n_blocks, BlockId first_block)
    : first_block_(first_block), n_total_(n_blocks) {
    if (n_blocks < 0) throw std::invalid_argument("block pool: negative size");
}

BlockPool::Block& BlockPool::at(BlockId block) {
    const int64_t index = int64_t(block) - first_block_;
    if (index < 0 || index >= int64_t(blocks_.size()))
        throw std::out_of_range("block pool: block " + std::to_string(block) + " is not ours");
    return blocks_[size_t(index)];
}

BlockId BlockPool::acquire_cached(BlockHash hash) {
    const auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) return kNone;
    Block& b = blocks_[size_t(it->second)];
    if (b.refs++ == 0) {
        lru_unlink(it->second);
        --n_cached_;
        ++n_used_;
    }
    return first_block_ + it->second;
}

BlockId BlockPool::allocate() {
    int32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else if (int32_t(blocks_.size()) < n_total_) {
        index = int32_t(blocks_.size());
        blocks_.emplace_back();
    } else if (lru_head_ != kNone) {
        index = lru_head_;
        lru_unlink(index);
        --n_cached_;
        forget_name(index);
    } else {
        return kNone;
    }
    blocks_[size_t(index)].refs = 1;
    ++n_used_;
    return first_block_ + index;
}

bool BlockPool::publish(BlockId block, BlockHash hash) {
    Block& b = at(block);
    if (b.refs <= 0) throw std::logic_error("block pool: publishing an unreferenced block");
    if (b.named || by_hash_.count(hash)) return false;
    b.named = true;
    b.hash = hash;
    by_hash_[hash] = block - first_block_;
    if (hook_) hook_({KvEvent::Kind::Stored, hash, block});
    return true;
}

void BlockPool::release(BlockId block) {
    Block& b = at(block);
    if (b.refs <= 0) throw std::logic_error("block pool: releasing an unreferenced block");
    if (--b.refs > 0) return;
    --n_used_;
    if (b.named) {
        lru_push_back(block - first_block_);
        ++n_cached_;
    } else {
        free_.push_back(block - first_block_);
    }
}

void BlockPool::lru_push_back(int32_t index) {
    Block& b = blocks_[size_t(index)];
    b.lru_prev = lru_tail_;
    b.lru_next = kNone;
    (lru_tail_ == kNone ? lru_head_ : blocks_[size_t(lru_tail_)].lru_next) = index;
    lru_tail_ = index;
}

void BlockPool::lru_unlink(int32_t index) {
    Block& b = blocks_[size_t(index)];
    (b.lru_prev == kNone ? lru_head_ : blocks_[size_t(b.lru_prev)].lru_next) = b.lru_next;
    (b.lru_next == kNone ? lru_tail_ : blocks_[size_t(b.lru_next)].lru_prev) = b.lru_prev;
    b.lru_prev = b.lru_next = kNone;
}

void BlockPool::forget_name(int32_t index) {
    Block& b = blocks_[size_t(index)];
    if (!b.named) return;
    by_hash_.erase(b.hash);
    b.named = false;
    if (hook_) hook_({KvEvent::Kind::Removed, b.hash, first_block_ + index});
}

}  // namespace ms::scheduler
