// Which worker runs each unit of the chain, for the example deployments.
#include "runtime/deployment/unit_placement.h"

#include <gtest/gtest.h>

#include "gguf/gguf.h"

using namespace ms::runtime;

namespace {

std::vector<WorkerPlan> plan_example(const std::string& file, const std::string& model) {
    const auto hp = ms::model::HParams::from_gguf(
        ms::gguf::File::open(std::string(MS_SHARED_MODELS) + "/stories260K/" + model));
    return plan_workers(load_deployment(std::string(MS_SOURCE_DIR) + "/deploy/runtime/" + file),
                        hp);
}

TEST(UnitPlacement, AttentionFfnSendsOnlyTheFfnLayersToTheWorker) {
    const auto plans = plan_example("attention-ffn.shm.yaml", "stories260K.gguf");
    EXPECT_EQ(unit_owner("embed", plans), 0u);
    EXPECT_EQ(unit_owner("head", plans), 0u);
    EXPECT_EQ(unit_owner("blk.4.attn", plans), 0u);
    EXPECT_EQ(unit_owner("blk.0.ffn", plans), 1u);
    EXPECT_EQ(unit_owner("blk.4.ffn", plans), 1u);
}

TEST(UnitPlacement, AllExpertsOfALayerInOneWorkerPlaceTheWholeMoeUnitThere) {
    const auto plans = plan_example("attention-moe.shm.yaml", "stories260K-moe4x2.gguf");
    EXPECT_EQ(unit_owner("blk.3.moe", plans), 1u);
    EXPECT_EQ(unit_owner("blk.3.attn", plans), 0u);
}

TEST(UnitPlacement, ExpertsSpreadOverWorkersLeaveTheRouterWithTheAttention) {
    const auto plans = plan_example("attention-experts.shm.yaml", "stories260K-moe4x2.gguf");
    EXPECT_TRUE(is_expert_parallel(plans, 2));
    EXPECT_EQ(unit_owner("blk.2.moe", plans), 0u);
    const auto placement = expert_placement(plans, 2, 4);
    EXPECT_EQ(placement.expert_ranks(), (std::vector<int>{1, 2}));
    EXPECT_EQ(placement.replicas(1), (std::vector<int>{1}));
    EXPECT_EQ(placement.replicas(3), (std::vector<int>{2}));
    EXPECT_EQ(experts_held(plans[2], 4), (std::vector<int>{2, 3}));
    EXPECT_TRUE(experts_held(plans[0], 4).empty());
}

TEST(UnitPlacement, RedundantCopiesMakeALayerExpertParallel) {
    const auto plans = plan_example("redundant-experts.shm.yaml", "stories260K-moe4x2.gguf");
    EXPECT_TRUE(is_expert_parallel(plans, 0));
    const auto placement = expert_placement(plans, 0, 4);
    EXPECT_EQ(placement.replicas(0), (std::vector<int>{1, 3}));
    EXPECT_EQ(placement.replicas(2), (std::vector<int>{2, 3}));
    EXPECT_EQ(placement.replicas(3), (std::vector<int>{2}));
}

TEST(UnitPlacement, AllExpertsInOneWorkerIsNotExpertParallel) {
    const auto plans = plan_example("attention-moe.shm.yaml", "stories260K-moe4x2.gguf");
    EXPECT_FALSE(is_expert_parallel(plans, 0));
}

TEST(UnitPlacement, UnknownUnitNamesAreErrors) {
    const auto plans = plan_example("attention-ffn.shm.yaml", "stories260K.gguf");
    EXPECT_THROW(unit_owner("blk.x.ffn", plans), DeploymentError);
    EXPECT_THROW(unit_owner("blk.0.mystery", plans), DeploymentError);
    EXPECT_THROW(unit_owner("blk.9.ffn", plans), DeploymentError);  // no such layer: no holder
}

}  // namespace
