#include "model/model.h"

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>

#include "gguf/gguf.h"
#include "kernels/stable_weights.h"
#include "model/architectures.h"
#include "model/compute_turn.h"
#include "model/micro_batch.h"
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
    m->pipeline_ = std::make_unique<PipelineCounters>();
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

struct Model::UnitClock {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> nanoseconds{0};
};

void Model::forward(const Batch& batch, ThreadPool* pool, Activations& logits, int dp_group) {
    if (dp_group < 0 || dp_group >= dp_groups_)
        throw std::invalid_argument("model: no DP group " + std::to_string(dp_group));
    // With DP groups every step goes through the pipeline, which lends the turn while it waits.
    if (micro_batches_ > 1 || turn_) {
        const std::vector<MicroBatch> slices = split_into_micro_batches(batch, micro_batches_);
        if (slices.size() > 1 || turn_) {
            UnitTimer timer;
            if (unit_clocks_)
                timer = [this](size_t unit, uint64_t calls, uint64_t ns) {
                    record_unit_time(unit, calls, ns);
                };
            const PipelineSharing sharing{dp_group * micro_batches_, turn_.get()};
            return run_micro_batches(units_, batch, slices, pool, logits, *pipeline_, sharing,
                                     timer);
        }
    }
    const StepContext ctx{batch, pool};
    if (unit_clocks_) return forward_timed(ctx, logits);
    for (auto& unit : units_) unit->forward(ctx, logits);
}

void Model::forward_timed(const StepContext& ctx, Activations& logits) {
    using Clock = std::chrono::steady_clock;
    for (size_t i = 0; i < units_.size(); ++i) {
        const auto start = Clock::now();
        units_[i]->forward(ctx, logits);
        record_unit_time(i, 1, uint64_t(std::chrono::nanoseconds(Clock::now() - start).count()));
    }
}

void Model::record_unit_time(size_t unit, uint64_t calls, uint64_t nanoseconds) {
    unit_clocks_[unit].calls.fetch_add(calls, std::memory_order_relaxed);
    unit_clocks_[unit].nanoseconds.fetch_add(nanoseconds, std::memory_order_relaxed);
}

void Model::check_lanes(int micro_batches, int dp_groups) {
    if (micro_batches < 1 || micro_batches > kMaxMicroBatches)
        throw std::invalid_argument("micro-batches must be 1.." + std::to_string(kMaxMicroBatches) +
                                    ", not " + std::to_string(micro_batches));
    if (dp_groups < 1 || dp_groups * micro_batches > kMaxMicroBatches)
        throw std::invalid_argument(
            "DP groups times micro-batches must be at most " + std::to_string(kMaxMicroBatches) +
            ", not " + std::to_string(dp_groups) + " x " + std::to_string(micro_batches));
}

void Model::set_micro_batches(int n) {
    check_lanes(n, dp_groups_);
    micro_batches_ = n;
}

void Model::set_dp_groups(int n) {
    check_lanes(micro_batches_, n);
    dp_groups_ = n;
    turn_ = n > 1 ? std::make_unique<ComputeTurn>(pipeline_->bubble_nanoseconds) : nullptr;
}

void Model::time_units() {
    if (!unit_clocks_) unit_clocks_ = std::make_unique<UnitClock[]>(units_.size());
}

std::vector<UnitTime> Model::unit_times() const {
    std::vector<UnitTime> times;
    for (size_t i = 0; unit_clocks_ && i < units_.size(); ++i)
        times.push_back({unit_clocks_[i].calls.load(std::memory_order_relaxed),
                         unit_clocks_[i].nanoseconds.load(std::memory_order_relaxed)});
    return times;
}

}  // namespace ms::model
