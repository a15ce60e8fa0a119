// An expert-parallel MoE layer (the router on rank 0, experts on ranks 1 and 2, threads over the
// in-process transport) against the colocated unit: the same bits, also with redundant copies;
// INT8 rows in transit stay close.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "runtime/experts/expert_host.h"
#include "runtime/experts/expert_rebalance.h"
#include "runtime/experts/expert_router.h"
#include "runtime/workers/unit_server.h"
#include "runtime/workers/unit_wire.h"

namespace ms::runtime {
namespace {

using transport::ExchangeOptions;
using transport::ExpertPlacement;

const std::string kModel =
    std::string(MS_SHARED_MODELS) + "/stories260K/stories260K-moe4x2-perturbed.gguf";
constexpr int kLayer = 2;

model::Activations random_rows(int64_t rows, int64_t cols) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    model::Activations x;
    x.resize(rows, cols);
    for (float& v : x.data) v = normal(rng);
    return x;
}

std::unique_ptr<model::MoeLayer> take_layer(model::Model& model, int layer) {
    const auto moe = moe_layers(model).at(layer);
    for (size_t i = 0; i < model.units().size(); ++i)
        if (model.units()[i].get() == moe)
            return std::unique_ptr<model::MoeLayer>(
                static_cast<model::MoeLayer*>(model.replace_unit(i, nullptr).release()));
    throw std::logic_error("no such layer");
}

using Holders = std::map<int, std::vector<int>>;  // rank -> experts

ExpertPlacement placement_of(const Holders& holders) {
    std::vector<std::vector<int>> copies(4);
    for (const auto& [rank, experts] : holders)
        for (int e : experts) copies[size_t(e)].push_back(rank);
    return ExpertPlacement(copies);
}

// Layer kLayer split over in-process ranks: the router on rank 0, experts on the ranks of
// `holders`, each serving on its own thread until the split is destroyed.
class SplitLayer {
public:
    SplitLayer(const Holders& holders, ExchangeOptions options)
        : model_(model::Model::load(kModel)), connections_(holders.size() + 1) {
        const int n_ranks = int(holders.size()) + 1;
        transport::PeerTable table;
        for (int r = 0; r < n_ranks; ++r)
            table.addresses.push_back("inproc://expert-parallel-test-" + std::to_string(n_ranks));
        for (int r = 0; r < n_ranks; ++r) ranks_.push_back(transport::make_transport(table, r));
        const ExpertPlacement placement = placement_of(holders);
        for (const auto& [rank, experts] : holders) {
            auto& host = hosts_.emplace_back(
                std::make_unique<ExpertHost>(*ranks_[size_t(rank)], nullptr, options));
            host->add_layer(kLayer, moe_layers(*model_).at(kLayer)->experts().source(), placement);
            servers_.emplace_back([this, host = host.get(), rank] {
                serve_units(*ranks_[size_t(rank)], 0, {}, nullptr, host);
            });
        }
        std::map<int, WorkerConnection*> workers;
        for (const auto& [rank, experts] : holders) {
            ranks_[0]->recv(rank, kWorkerReadyTag, transport::Milliseconds(5000));
            connections_[size_t(rank)].name = "experts-" + std::to_string(rank);
            workers.emplace(rank, &connections_[size_t(rank)]);
        }
        router_ = std::make_unique<ExpertRouter>(take_layer(*model_, kLayer), *ranks_[0], placement,
                                                 options, workers);
    }
    ~SplitLayer() {
        for (size_t rank = 1; rank < ranks_.size(); ++rank)
            ranks_[0]->send(int(rank), kUnitRequestTag, encode_stop());
        for (auto& t : servers_) t.join();
    }

    model::Activations forward(int step) {
        auto x = random_rows(5 + step, model_->hparams().n_embd);
        model::Batch batch;
        router_->forward({batch, nullptr}, x);
        return x;
    }
    ExpertRouter& router() { return *router_; }
    // The experts of kLayer each expert rank holds, by rank.
    Holders held() const {
        Holders held;
        for (size_t h = 0; h < hosts_.size(); ++h) held[int(h) + 1] = hosts_[h]->experts(kLayer);
        return held;
    }

private:
    std::unique_ptr<model::Model> model_;
    std::vector<std::unique_ptr<transport::Transport>> ranks_;
    std::vector<std::unique_ptr<ExpertHost>> hosts_;
    std::vector<std::thread> servers_;
    std::vector<WorkerConnection> connections_;
    std::unique_ptr<ExpertRouter> router_;
};

// Runs `steps` forwards split as `holders` says; from step `moved_at` on with the experts placed
// as `moved` says (the same ranks).
std::vector<model::Activations> run_split(const Holders& holders, ExchangeOptions options,
                                          int steps, int moved_at = -1, const Holders& moved = {}) {
    std::vector<model::Activations> outputs;
    SplitLayer split(holders, options);
    for (int step = 0; step < steps; ++step) {
        if (step == moved_at) split.router().set_placement(placement_of(moved));
        outputs.push_back(split.forward(step));
    }
    if (moved_at >= 0) {
        EXPECT_EQ(split.held(), moved);
    }
    return outputs;
}

std::vector<model::Activations> run_colocated(int steps) {
    const auto model = model::Model::load(kModel);
    std::vector<model::Activations> outputs;
    model::Batch batch;
    for (int step = 0; step < steps; ++step) {
        auto x = random_rows(5 + step, model->hparams().n_embd);
        moe_layers(*model).at(kLayer)->forward({batch, nullptr}, x);
        outputs.push_back(std::move(x));
    }
    return outputs;
}

TEST(ExpertParallel, ExpertsOverTwoWorkersGiveTheColocatedBits) {
    const auto colocated = run_colocated(3);
    const auto split = run_split({{1, {0, 1}}, {2, {2, 3}}}, {}, 3);
    for (size_t step = 0; step < 3; ++step) EXPECT_EQ(split[step].data, colocated[step].data);
}

TEST(ExpertParallel, RedundantCopiesGiveTheColocatedBits) {
    const auto colocated = run_colocated(2);
    const auto split = run_split({{1, {0, 1, 2}}, {2, {2, 3}}, {3, {0, 3}}}, {}, 2);
    for (size_t step = 0; step < 2; ++step) EXPECT_EQ(split[step].data, colocated[step].data);
}

TEST(ExpertParallel, MovingAndCopyingExpertsBetweenStepsKeepsTheBits) {
    const auto colocated = run_colocated(4);
    // Expert 1 moves from rank 1 to rank 2, expert 3 gets a copy on rank 1.
    const auto split =
        run_split({{1, {0, 1}}, {2, {2, 3}}}, {}, 4, 2, {{1, {0, 3}}, {2, {1, 2, 3}}});
    for (size_t step = 0; step < 4; ++step) EXPECT_EQ(split[step].data, colocated[step].data);
}

TEST(ExpertRebalancer, QueuedMovesTakeEffectWhenApplied) {
    const auto colocated = run_colocated(2);
    SplitLayer split({{1, {0, 1}}, {2, {2, 3}}}, {});
    ExpertRebalancer rebalancer({"front", "experts-a", "experts-b"}, {{kLayer, &split.router()}},
                                5);
    ASSERT_EQ(rebalancer.placement().size(), 2u);
    EXPECT_EQ(rebalancer.placement()[0].experts_by_layer[kLayer], (std::vector<int>{0, 1}));
    EXPECT_TRUE(rebalancer.placement()[0].experts_by_layer[0].empty());
    EXPECT_EQ(split.forward(0).data, colocated[0].data);

    using K = ExpertMove::Kind;
    EXPECT_THROW(rebalancer.move({{K::move, 0, 1, "experts-a", "experts-b"}}),
                 std::invalid_argument);  // layer 0 is not expert-parallel
    rebalancer.move({{K::move, kLayer, 1, "experts-a", "experts-b"}});
    EXPECT_TRUE(rebalancer.pending());
    EXPECT_EQ(rebalancer.placement()[1].experts_by_layer[kLayer], (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(split.router().placement().replicas(1), (std::vector<int>{1}));  // not yet

    rebalancer.apply_pending();
    EXPECT_FALSE(rebalancer.pending());
    EXPECT_EQ(split.router().placement().replicas(1), (std::vector<int>{2}));
    EXPECT_EQ(split.forward(1).data, colocated[1].data);
    EXPECT_EQ(split.held(), (Holders{{1, {0}}, {2, {1, 2, 3}}}));
}

TEST(ExpertParallel, Int8RowsInTransitStayClose) {
    const auto colocated = run_colocated(1);
    const auto split = run_split({{1, {0, 1}}, {2, {2, 3}}}, {.int8_activations = true}, 1);
    float max_error = 0, max_value = 0;
    for (size_t i = 0; i < colocated[0].data.size(); ++i) {
        max_error = std::max(max_error, std::abs(split[0].data[i] - colocated[0].data[i]));
        max_value = std::max(max_value, std::abs(colocated[0].data[i]));
    }
    EXPECT_GT(max_error, 0.0f);  // the rows did travel as int8
    EXPECT_LT(max_error, 0.02f * max_value);
}

TEST(ExpertBank, HoldsOnlyItsExpertsAndLoadsMoreOnDemand) {
    const auto model = model::Model::load(kModel);
    model::ExpertBank bank(moe_layers(*model).at(0)->experts().source(), {1, 3});
    EXPECT_EQ(bank.experts(), (std::vector<int>{1, 3}));
    std::vector<float> row(64, 0.5f), out(64);
    EXPECT_THROW(bank.run(0, row.data(), 1, out.data(), nullptr), std::runtime_error);
    bank.load(0);
    bank.run(0, row.data(), 1, out.data(), nullptr);
    bank.unload(3);
    EXPECT_EQ(bank.experts(), (std::vector<int>{0, 1}));
    EXPECT_THROW(bank.load(4), std::runtime_error);
}

}  // namespace
}  // namespace ms::runtime
