#include "sim/planner.h"

#include <gtest/gtest.h>

namespace ms::sim {
namespace {

TEST(Planner, BestPlansMeetSlosAndComeFirst) {
    const Deployment base =
        load_deployment(std::string(MS_SOURCE_DIR) + "/deploy/sim/cm384_pd_100k.yaml",
                        std::string(MS_SOURCE_DIR) + "/data/catalog");
    const Slo slo{4.0, 0.05};
    const std::vector<Plan> plans = plan_deployments(base, 768, slo, 3);
    ASSERT_EQ(plans.size(), 3u);
    for (size_t i = 0; i < plans.size(); ++i) {
        EXPECT_LE(plans[i].tpot_s, slo.tpot_s);
        EXPECT_LE(plans[i].ttft_s, slo.ttft_s);
        EXPECT_EQ(plans[i].deployment.devices(), 768);
        EXPECT_FALSE(plans[i].why.empty());
        if (i > 0) {
            EXPECT_LE(plans[i].goodput_per_device, plans[i - 1].goodput_per_device);
        }
    }
    EXPECT_TRUE(plan_deployments(base, 768, {0.001, 0.001}, 3).empty());
}

}  // namespace
}  // namespace ms::sim
