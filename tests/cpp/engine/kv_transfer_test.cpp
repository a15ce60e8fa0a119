// A request's KV moved between two instances of the real tiny model: exported after its prompt
// on one, imported on the other, it continues there bit for bit as it does at home.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "engine/model_kv_store.h"
#include "engine/step_executor.h"
#include "executor/chain_executor.h"
#include "scheduler/scheduler.h"

namespace ms::engine {
namespace {

const std::string kModel = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";
constexpr int32_t kBlockSize = 16, kBlocks = 16;

// One instance: a model with its chain executor, KV manager, scheduler and step executor.
struct Instance {
    std::unique_ptr<model::Model> model = model::Model::load(kModel);
    executor::ChainExecutor chain{*model};
    scheduler::KvManager kv{{.n_blocks = kBlocks, .identity = kv_identity(*model, kBlockSize)}};
    scheduler::Scheduler scheduler{{.token_budget = 256, .max_running = 4}, kv};
    StepExecutor executor{chain, nullptr, 0, kBlockSize};
    ModelKvStore store{*model};

    Instance() { model->reserve_kv(kBlocks, kBlockSize); }

    // One step; returns the logits row of the (only) sequence, which must sample.
    std::vector<float> step() {
        const scheduler::StepPlan plan = scheduler.schedule();
        EXPECT_EQ(plan.sequences.size(), 1u);
        const model::Activations& logits = executor.run(plan, scheduler);
        scheduler.computed(plan.sequences[0].id, plan.sequences[0].n_tokens);
        return {logits.row(0), logits.row(0) + logits.cols};
    }
};

int32_t argmax(const std::vector<float>& row) {
    return int32_t(std::max_element(row.begin(), row.end()) - row.begin());
}

TEST(KvTransfer, ImportedKvContinuesBitForBit) {
    Instance home, away;
    ASSERT_TRUE(away.kv.allocate_slots(99, 40));  // the blocks it imports into are other ids
    std::vector<int32_t> prompt{1};
    for (int i = 1; i < 37; ++i) prompt.push_back(3 + (i * 37) % 500);
    home.scheduler.add({.id = 1, .tokens = prompt, .max_new_tokens = 8});
    const int32_t next = argmax(home.step());
    home.scheduler.append(1, next);

    const auto bytes = home.kv.export_kv(1, home.scheduler.tokens(1), 37, home.store);
    std::vector<int32_t> tokens;
    ASSERT_EQ(away.kv.import_kv(7, bytes, away.store, tokens), 37);
    EXPECT_EQ(tokens, prompt);
    EXPECT_NE(away.kv.blocks(7)[0], home.kv.blocks(1)[0]);
    tokens.push_back(next);
    away.scheduler.add(
        {.id = 7, .tokens = tokens, .generated = 1, .max_new_tokens = 8, .kv_ready = 37});

    const std::vector<float> at_home = home.step(), moved = away.step();
    ASSERT_EQ(at_home.size(), moved.size());
    EXPECT_EQ(std::memcmp(at_home.data(), moved.data(), at_home.size() * sizeof(float)), 0);
}

TEST(KvTransfer, ModelsOfAnotherKindRefuseTheBytes) {
    Instance home;
    home.scheduler.add({.id = 1, .tokens = {1, 5, 9, 12}, .max_new_tokens = 2});
    home.step();
    const auto bytes = home.kv.export_kv(1, home.scheduler.tokens(1), 4, home.store);
    const auto other =
        model::Model::load(std::string(MS_SHARED_MODELS) + "/stories260K/stories260K-moe4x2.gguf");
    other->reserve_kv(kBlocks, kBlockSize);
    scheduler::KvManager kv({.n_blocks = kBlocks, .identity = kv_identity(*other, kBlockSize)});
    ModelKvStore store(*other);
    std::vector<int32_t> tokens;
    EXPECT_THROW(kv.import_kv(1, bytes, store, tokens), scheduler::KvImportError);
}

}  // namespace
}  // namespace ms::engine
