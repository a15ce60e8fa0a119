#include "engine/step_executor.h"

#include <xxhash.h>

#include "executor/chain_executor.h"
#include "gguf/gguf.h"

namespace ms::engine {

scheduler::KvIdentity kv_identity(const model::Model& model, int32_t block_size) {
    const gguf::File& file = model.file();
    std::string tensors;
    for (const auto& t : file.tensors())
        tensors += t.name + ':' + std::to_string(int(t.type)) + ';';
    const std::string name = file.get_string("general.architecture", "") + '/' +
                             file.get_string("general.name", "") + '/' +
                             std::to_string(XXH3_64bits(tensors.data(), tensors.size()));
    return {name, block_size, "f32"};  // KvBlocks holds floats
}

StepExecutor::StepExecutor(executor::ChainExecutor& chain, ThreadPool* pool, int dp_group,
                           int32_t block_size)
    : chain_(chain), pool_(pool), dp_group_(dp_group) {
    batch_.block_size = block_size;
}

const model::Activations& StepExecutor::run(const scheduler::StepPlan& plan,
                                            const scheduler::Scheduler& scheduler,
                                            bool all_logits) {
    const int32_t block_size = batch_.block_size;
    batch_ = model::Batch{};
    batch_.block_size = block_size;
    for (size_t s = 0; s < plan.sequences.size(); ++s) {
        const scheduler::ScheduledSequence& seq = plan.sequences[s];
        const auto tokens = scheduler.tokens(seq.id);
        batch_.block_tables.push_back(scheduler.blocks(seq.id));
        for (int32_t pos = seq.start; pos < seq.start + seq.n_tokens; ++pos)
            batch_.add(tokens[size_t(pos)], pos, int32_t(s),
                       all_logits || (seq.samples && pos + 1 == seq.start + seq.n_tokens));
    }
    chain_.forward(batch_, pool_, logits_, dp_group_);
    return logits_;
}

}  // namespace ms::engine
