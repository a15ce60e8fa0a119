// A loaded model: the mapped GGUF file, its hyperparameters and the chain of units built by
// its architecture. Colocated execution runs the chain on one thread pool.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/hparams.h"
#include "model/unit.h"

namespace ms::kernels {
class StableWeights;
}

namespace ms::gguf {
class File;
}

namespace ms::model {

class KvHolder;

class Model {
public:
    // Maps the file, reads hyperparameters and builds the unit chain. Throws
    // std::runtime_error (or gguf::Error) naming what is wrong or missing.
    static std::unique_ptr<Model> load(const std::string& path);
    static std::unique_ptr<Model> from_file(gguf::File file);
    ~Model();

    const HParams& hparams() const { return hparams_; }
    const gguf::File& file() const { return *file_; }
    std::span<const std::unique_ptr<Unit>> units() const { return units_; }
    // Puts `unit` in place of the chain's unit at `index` and returns the one it replaces (the
    // runtime swaps in proxies for units that run in other workers).
    std::unique_ptr<Unit> replace_unit(size_t index, std::unique_ptr<Unit> unit);

    // Sizes every attention unit's KV store; block ids in batches index into it.
    void reserve_kv(int32_t n_blocks, int32_t block_size);
    int64_t kv_bytes_per_token() const;
    // The same if every query head cached full keys and values (KvHolder).
    int64_t uncompressed_kv_bytes_per_token() const;

    // Runs the whole chain on one batch, unit after unit; logits has one row per token that wants
    // logits. How a deployment's steps run (micro-batches, DP groups, unit timing) is the
    // executor's (executor/chain_executor.h).
    void forward(const Batch& batch, ThreadPool* pool, Activations& logits);

private:
    Model() = default;
    int64_t sum_over_kv_holders(int64_t (KvHolder::*bytes)() const) const;
    std::unique_ptr<gguf::File> file_;
    // The file's tensors, registered so kernels may keep faster layouts of them (destroyed before
    // file_, which unmaps them).
    std::unique_ptr<kernels::StableWeights> stable_weights_;
    HParams hparams_;
    std::vector<std::unique_ptr<Unit>> units_;
};

// Architectures we can build, for error messages and `inspect`.
std::vector<std::string> supported_architectures();

}  // namespace ms::model
