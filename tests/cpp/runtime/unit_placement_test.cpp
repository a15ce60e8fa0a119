// Which worker runs each unit of the chain, for the example deployments.
#include "runtime/unit_placement.h"

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

TEST(UnitPlacement, ExpertsSpreadOverWorkersAreNotRunYet) {
    const auto plans = plan_example("attention-experts.shm.yaml", "stories260K-moe4x2.gguf");
    try {
        unit_owner("blk.2.moe", plans);
        FAIL() << "experts over two workers must be refused";
    } catch (const DeploymentError& e) {
        EXPECT_NE(std::string(e.what()).find("blk.2.moe is spread over experts-01/0 and "
                                             "experts-23/0"),
                  std::string::npos)
            << e.what();
    }
}

TEST(UnitPlacement, UnknownUnitNamesAreErrors) {
    const auto plans = plan_example("attention-ffn.shm.yaml", "stories260K.gguf");
    EXPECT_THROW(unit_owner("blk.x.ffn", plans), DeploymentError);
    EXPECT_THROW(unit_owner("blk.0.mystery", plans), DeploymentError);
    EXPECT_THROW(unit_owner("blk.9.ffn", plans), DeploymentError);  // no such layer: no holder
}

}  // namespace
