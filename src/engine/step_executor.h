// Runs one step plan on a model: builds the batch from the scheduler's tokens and block tables,
// runs it through the chain executor as the step of one DP group, and hands back the logits. The
// serving engine, `generate`, `logits` and the benchmarks all step through this, so there is one
// way a batch is made.
#pragma once
#include <cstdint>

#include "model/unit.h"
#include "scheduler/scheduler.h"

namespace ms {
class ThreadPool;
}
namespace ms::model {
class Model;
}
namespace ms::executor {
class ChainExecutor;
}

namespace ms::engine {

// The seed of the KV chain hashes: the model (architecture, name, tensors and their types),
// the block size and the KV type, so only blocks of the very same computation ever match.
scheduler::KvIdentity kv_identity(const model::Model& model, int32_t block_size);

class StepExecutor {
public:
    StepExecutor(executor::ChainExecutor& chain, ThreadPool* pool, int dp_group,
                 int32_t block_size);

    // Rows in plan order: one for each sequence that samples, or with all_logits one for every
    // token computed. Valid until the next run.
    const model::Activations& run(const scheduler::StepPlan& plan,
                                  const scheduler::Scheduler& scheduler, bool all_logits = false);

private:
    executor::ChainExecutor& chain_;
    ThreadPool* pool_;
    int dp_group_;
    model::Batch batch_;
    model::Activations logits_;
};

}  // namespace ms::engine
