// Expert token counters, the skew report and the rebalance planner.
#include "runtime/experts/expert_stats.h"

#include <gtest/gtest.h>

#include <thread>

using namespace ms::runtime;

namespace {

// 1 layer, 4 experts on 2 workers: expert 0 takes 70% of the tokens.
ExpertCounts skewed() {
    return ExpertCounts{1, 4, {700, 100, 100, 100}};
}

std::vector<WorkerExperts> two_workers() {
    return {{"experts-01/0", {{0, 1}}}, {"experts-23/0", {{2, 3}}}};
}

}  // namespace

TEST(ExpertCounters, CountsFromManyThreadsAndIgnoresBadIds) {
    ExpertCounters counters(2, 4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&counters] {
            const int32_t routed[] = {0, 3, 3, -1, 4};
            for (int i = 0; i < 1000; ++i) counters.add_routing(1, routed);
        });
    for (auto& t : threads) t.join();
    counters.add(7, 0, 5);  // no such layer: ignored
    const ExpertCounts c = counters.snapshot();
    EXPECT_EQ(c.count(1, 0), 4000u);
    EXPECT_EQ(c.count(1, 3), 8000u);
    EXPECT_EQ(c.count(1, 1), 0u);
    EXPECT_EQ(c.count(0, 0), 0u);
    counters.reset();
    EXPECT_EQ(counters.snapshot().count(1, 3), 0u);
}

TEST(ExpertSkew, ReportsMaxOverMeanAndHottest) {
    const ExpertCounts c{2, 4, {700, 100, 100, 100, 0, 0, 0, 0}};
    const SkewReport r = skew_report(c, 2);
    ASSERT_EQ(r.layers.size(), 2u);
    EXPECT_DOUBLE_EQ(r.layers[0].max_over_mean, 2.8);
    EXPECT_EQ(r.layers[0].hottest.expert, 0);
    EXPECT_EQ(r.layers[0].tokens, 1000u);
    EXPECT_DOUBLE_EQ(r.layers[1].max_over_mean, 0);
    EXPECT_DOUBLE_EQ(r.worst_max_over_mean, 2.8);
    ASSERT_EQ(r.hottest.size(), 2u);
    EXPECT_EQ(r.hottest[0].tokens, 700u);
    EXPECT_EQ(r.hottest[1].expert, 1);
    EXPECT_NE(format_skew(r).find("L0E0=700"), std::string::npos);
}

TEST(ExpertRebalance, LoadsSplitTokensOverCopies) {
    const auto loads = worker_loads(skewed(), {{"a", {{0, 1}}}, {"b", {{0, 2, 3}}}});
    EXPECT_EQ(loads, (std::vector<double>{450, 550}));
}

TEST(ExpertRebalance, ReplicatesTheHotExpertToEvenTheLoad) {
    const RebalancePlan p = plan_rebalance(skewed(), two_workers());
    EXPECT_EQ(p.load_before, (std::vector<double>{800, 200}));
    EXPECT_DOUBLE_EQ(p.max_over_mean_before, 1.6);
    // Moving expert 0 would leave 900 on the other side; a copy of it splits its 700 tokens
    // 350/350, giving 450/550; a copy of expert 2 then splits its 100 tokens: 500/500.
    ASSERT_FALSE(p.moves.empty());
    EXPECT_EQ(p.moves[0].kind, ExpertMove::Kind::replicate);
    EXPECT_EQ(p.moves[0].expert, 0);
    EXPECT_EQ(p.moves[0].from, "experts-01/0");
    EXPECT_EQ(p.moves[0].to, "experts-23/0");
    ASSERT_EQ(p.moves.size(), 2u);
    EXPECT_EQ(p.moves[1].kind, ExpertMove::Kind::replicate);
    EXPECT_EQ(p.moves[1].expert, 2);
    EXPECT_EQ(p.moves[1].to, "experts-01/0");
    EXPECT_EQ(p.load_after, (std::vector<double>{500, 500}));
    EXPECT_DOUBLE_EQ(p.max_over_mean_after, 1.0);
    EXPECT_EQ(worker_loads(skewed(), p.placement), p.load_after);
}

TEST(ExpertRebalance, WithoutReplicationMovesColdExpertsAway) {
    const ExpertCounts c{1, 4, {400, 300, 200, 100}};
    const RebalancePlan p = plan_rebalance(c, two_workers(), {.allow_replication = false});
    EXPECT_EQ(p.load_before, (std::vector<double>{700, 300}));
    // Expert 1 over (400/600), then expert 3 back (500/500).
    ASSERT_EQ(p.moves.size(), 2u);
    EXPECT_EQ(p.moves[0].kind, ExpertMove::Kind::move);
    EXPECT_EQ(p.moves[0].expert, 1);
    EXPECT_EQ(p.moves[1].expert, 3);
    EXPECT_EQ(p.moves[1].from, "experts-23/0");
    EXPECT_EQ(p.load_after, (std::vector<double>{500, 500}));
    EXPECT_EQ(p.placement[0].experts_by_layer[0], (std::vector<int>{0, 3}));
    EXPECT_EQ(p.placement[1].experts_by_layer[0], (std::vector<int>{1, 2}));
    EXPECT_DOUBLE_EQ(p.max_over_mean_after, 1.0);
}

TEST(ExpertRebalance, RespectsCapacityAndStopsWhenBalanced) {
    const RebalancePlan full =
        plan_rebalance(skewed(), two_workers(), {.max_experts_per_worker = 2});
    EXPECT_TRUE(full.moves.empty());
    EXPECT_EQ(full.load_after, full.load_before);
    const ExpertCounts even{1, 4, {100, 100, 100, 100}};
    EXPECT_TRUE(plan_rebalance(even, two_workers()).moves.empty());
}

TEST(ExpertRebalance, RejectsPlacementsThatDoNotMatchTheCounts) {
    EXPECT_THROW(plan_rebalance(skewed(), {{"a", {{0, 4}}}}), std::invalid_argument);
    EXPECT_THROW(plan_rebalance(skewed(), {{"a", {{0}, {1}}}}), std::invalid_argument);
    EXPECT_THROW(plan_rebalance(skewed(), {{"a", {{0, 0}}}, {"b", {{1, 2, 3}}}}),
                 std::invalid_argument);
}

TEST(ExpertCounters, CountARoutersChoices) {
    ExpertCounters counters(2, 4);
    const ms::model::ExpertChoice choices[] = {{2, 0.6f}, {0, 0.4f}, {2, 0.9f}, {9, 0.1f}};
    counters.observe(1, choices);
    EXPECT_EQ(counters.snapshot().count(1, 2), 2u);
    EXPECT_EQ(counters.snapshot().count(1, 0), 1u);
}

TEST(ExpertMoves, MoveAndReplicateChangeThePlacement) {
    const auto after = apply_moves(
        two_workers(), {{ExpertMove::Kind::move, 0, 1, "experts-01/0", "experts-23/0"},
                        {ExpertMove::Kind::replicate, 0, 3, "experts-23/0", "experts-01/0"}});
    EXPECT_EQ(after[0].experts_by_layer[0], (std::vector<int>{0, 3}));
    EXPECT_EQ(after[1].experts_by_layer[0], (std::vector<int>{1, 2, 3}));
}

TEST(ExpertMoves, MovesThatDoNotFitAreRefusedByName) {
    const auto refusal = [](const ExpertMove& m) {
        try {
            apply_moves(two_workers(), {m});
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    using K = ExpertMove::Kind;
    EXPECT_EQ(refusal({K::move, 0, 2, "experts-01/0", "experts-23/0"}),
              "move layer 0 expert 2 from experts-01/0 to experts-23/0: experts-01/0 does not "
              "hold it");
    EXPECT_EQ(refusal({K::replicate, 0, 2, "experts-23/0", "experts-23/0"}),
              "replicate layer 0 expert 2 from experts-23/0 to experts-23/0: experts-23/0 already "
              "holds it");
    EXPECT_NE(refusal({K::move, 0, 0, "experts-01/0", "nobody"}).find("no expert worker nobody"),
              std::string::npos);
    EXPECT_NE(refusal({K::move, 3, 0, "experts-01/0", "experts-23/0"})
                  .find("holds no experts of layer 3"),
              std::string::npos);
}
