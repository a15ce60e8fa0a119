#include "model/model.h"

#include <map>
#include <stdexcept>

#include "gguf/gguf.h"
#include "kernels/stable_weights.h"
#include "model/architectures.h"
#include "model/units.h"

namespace ms::model {
namespace {

using Builder = UnitChain (*)(const gguf::File&, HParams&);

const std::map<std::string, Builder>& builders() {
    static const std::map<std::string, Builder> table{
        {"llama", &build_llama},         {"qwen2", &build_qwen2},       {"qwen3", &build_qwen3},
        {"qwen2moe", &build_qwen2moe},   {"qwen3moe", &build_qwen3moe}, {"gemma3", &build_gemma3},
        {"deepseek2", &build_deepseek2},
    };
    return table;
}

}  // namespace

std::vector<std::string> supported_architectures() {
    std::vector<std::string> names;
    for (const auto& [name, builder] : builders()) names.push_back(name);
    return names;
}

namespace {

std::unique_ptr<kernels::StableWeights> register_tensors(const gguf::File& file) {
    const uint8_t* begin = nullptr;
    const uint8_t* end = nullptr;
    for (const gguf::TensorInfo& t : file.tensors()) {
        if (!begin || t.data < begin) begin = t.data;
        if (!end || t.data + t.n_bytes > end) end = t.data + t.n_bytes;
    }
    return begin ? std::make_unique<kernels::StableWeights>(begin, end) : nullptr;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path) {
    return from_file(gguf::File::open(path));
}

std::unique_ptr<Model> Model::from_file(gguf::File file) {
    const std::string arch = file.get_string("general.architecture");
    const auto it = builders().find(arch);
    if (it == builders().end()) {
        std::string known;
        for (const auto& name : supported_architectures())
            known += (known.empty() ? "" : ", ") + name;
        throw std::runtime_error("model: unsupported architecture '" + arch +
                                 "' (supported: " + known + ")");
    }
    std::unique_ptr<Model> m(new Model());
    m->file_ = std::make_unique<gguf::File>(std::move(file));
    m->stable_weights_ = register_tensors(*m->file_);
    m->hparams_ = HParams::from_gguf(*m->file_);
    m->units_ = it->second(*m->file_, m->hparams_);
    return m;
}

Model::~Model() = default;

std::unique_ptr<Unit> Model::replace_unit(size_t index, std::unique_ptr<Unit> unit) {
    if (index >= units_.size())
        throw std::out_of_range("model: no unit " + std::to_string(index) + " in a chain of " +
                                std::to_string(units_.size()));
    std::swap(units_[index], unit);
    return unit;
}

void Model::reserve_kv(int32_t n_blocks, int32_t block_size) {
    for (auto& unit : units_)
        if (auto* holder = dynamic_cast<KvHolder*>(unit.get()))
            holder->reserve_kv(n_blocks, block_size);
}

int64_t Model::sum_over_kv_holders(int64_t (KvHolder::*bytes)() const) const {
    int64_t total = 0;
    for (const auto& unit : units_)
        if (const auto* holder = dynamic_cast<const KvHolder*>(unit.get()))
            total += (holder->*bytes)();
    return total;
}

int64_t Model::kv_bytes_per_token() const {
    return sum_over_kv_holders(&KvHolder::kv_bytes_per_token);
}

int64_t Model::uncompressed_kv_bytes_per_token() const {
    return sum_over_kv_holders(&KvHolder::uncompressed_kv_bytes_per_token);
}

void Model::forward(const Batch& batch, ThreadPool* pool, Activations& logits) {
    const StepContext ctx{batch, pool};
    for (auto& unit : units_) unit->forward(ctx, logits);
}

}  // namespace ms::model
