// The byte layout of exported KV (little-endian, as the machines we run on):
//   "MSKV" u32 version | u64 chain seed | i32 block size | u32 dtype length, dtype bytes
//   | i32 layers | i64 bytes per block, per layer | i32 tokens, i32 token ids
//   | u64 chain hash of each full block | each layer's blocks back to back.
#include <cstring>
#include <string>

#include "scheduler/kv_manager.h"

namespace ms::scheduler {
namespace {

constexpr char kMagic[4] = {'M', 'S', 'K', 'V'};
constexpr uint32_t kVersion = 1;

class Writer {
public:
    explicit Writer(std::vector<std::byte>& out) : out_(out) {}
    template <typename T>
    void put(const T& value) {
        bytes({reinterpret_cast<const std::byte*>(&value), sizeof(T)});
    }
    void bytes(std::span<const std::byte> b) {
        const size_t at = out_.size();
        out_.resize(at + b.size());
        if (!b.empty()) std::memcpy(out_.data() + at, b.data(), b.size());
    }

private:
    std::vector<std::byte>& out_;
};

class Reader {
public:
    explicit Reader(std::span<const std::byte> in) : in_(in) {}
    template <typename T>
    T get(const char* what) {
        T value;
        std::memcpy(&value, bytes(sizeof(T), what).data(), sizeof(T));
        return value;
    }
    std::span<const std::byte> bytes(size_t n, const char* what) {
        if (n > in_.size() - at_)
            throw KvImportError(std::string("kv import: the bytes end inside ") + what);
        const auto b = in_.subspan(at_, n);
        at_ += n;
        return b;
    }
    bool done() const { return at_ == in_.size(); }

private:
    std::span<const std::byte> in_;
    size_t at_ = 0;
};

std::string describe(const std::string& s) {
    return "'" + s + "'";
}
std::string describe(int64_t v) {
    return std::to_string(v);
}

template <typename T>
void expect_equal(const T& got, const T& ours, const std::string& what) {
    if (got != ours)
        throw KvImportError("kv import: " + what + " is " + describe(got) + ", this instance has " +
                            describe(ours));
}

}  // namespace

std::vector<std::byte> KvManager::export_kv(uint64_t request, std::span<const int32_t> tokens,
                                            int32_t n_tokens, const KvStore& store) const {
    const auto blocks = this->blocks(request);
    if (n_tokens <= 0 || size_t(n_tokens) > tokens.size() ||
        blocks_for(n_tokens) > int32_t(blocks.size()))
        throw std::invalid_argument("kv export: the request holds no KV for those tokens");
    const auto n_blocks = size_t(blocks_for(n_tokens));
    std::vector<std::byte> out;
    Writer w(out);
    w.bytes(std::as_bytes(std::span(kMagic)));
    w.put(kVersion);
    w.put(seed_);
    w.put(block_size_);
    w.put(uint32_t(identity_.dtype.size()));
    w.bytes(std::as_bytes(std::span(identity_.dtype)));
    w.put(store.n_layers());
    for (int32_t l = 0; l < store.n_layers(); ++l)
        w.put(int64_t(store.block_bytes(l, blocks[0]).size()));
    w.put(n_tokens);
    w.bytes(std::as_bytes(tokens.first(size_t(n_tokens))));
    std::vector<BlockHash> hashes;
    extend_block_hashes(seed_, tokens.first(size_t(n_tokens)), block_size_, hashes);
    w.bytes(std::as_bytes(std::span(hashes)));
    for (int32_t l = 0; l < store.n_layers(); ++l)
        for (size_t b = 0; b < n_blocks; ++b) w.bytes(store.block_bytes(l, blocks[b]));
    return out;
}

int32_t KvManager::import_kv(uint64_t request, std::span<const std::byte> bytes, KvStore& store,
                             std::vector<int32_t>& tokens) {
    if (!this->blocks(request).empty())
        throw std::logic_error("kv import: the request holds blocks already");
    Reader r(bytes);
    const auto magic = r.bytes(sizeof(kMagic), "the header");
    if (std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0)
        throw KvImportError("kv import: not exported KV (bad magic)");
    expect_equal(r.get<uint32_t>("the header"), kVersion, "the format version");
    const auto seed = r.get<BlockHash>("the header");
    expect_equal(r.get<int32_t>("the header"), block_size_, "the block size");
    const auto dtype_size = r.get<uint32_t>("the header");
    const auto dtype = r.bytes(dtype_size, "the dtype");
    expect_equal(std::string(reinterpret_cast<const char*>(dtype.data()), dtype.size()),
                 identity_.dtype, "the KV dtype");
    const auto layers = r.get<int32_t>("the header");
    expect_equal(layers, store.n_layers(), "the number of KV layers");
    if (seed != seed_)
        throw KvImportError("kv import: the KV comes from another model (chain seed differs)");
    const int32_t n_layers = layers;
    std::vector<int64_t> layer_bytes(static_cast<size_t>(n_layers));
    for (auto& b : layer_bytes) b = r.get<int64_t>("the layer sizes");
    const auto n_tokens = r.get<int32_t>("the header");
    if (n_tokens <= 0) throw KvImportError("kv import: no tokens");
    tokens.resize(size_t(n_tokens));
    const auto token_bytes = r.bytes(tokens.size() * sizeof(int32_t), "the tokens");
    std::memcpy(tokens.data(), token_bytes.data(), token_bytes.size());
    std::vector<BlockHash> ours;
    extend_block_hashes(seed_, tokens, block_size_, ours);
    for (size_t b = 0; b < ours.size(); ++b)
        if (r.get<BlockHash>("the chain hashes") != ours[b])
            throw KvImportError("kv import: the chain hash of block " + std::to_string(b) +
                                " does not follow from its tokens");
    if (!allocate_slots(request, n_tokens))
        throw std::length_error("kv import: too few free KV blocks");
    const auto blocks = this->blocks(request);
    try {
        for (int32_t l = 0; l < n_layers; ++l) {
            for (BlockId block : blocks) {
                const auto dst = store.block_bytes(l, block);
                expect_equal(layer_bytes[size_t(l)], int64_t(dst.size()),
                             "layer " + std::to_string(l) + "'s bytes per block");
                const auto src = r.bytes(dst.size(), "the KV bytes");
                std::memcpy(dst.data(), src.data(), dst.size());
            }
        }
        if (!r.done()) throw KvImportError("kv import: bytes left after the KV");
    } catch (...) {
        free(request);
        throw;
    }
    commit(request, tokens, n_tokens);
    return n_tokens;
}

}  // namespace ms::scheduler
