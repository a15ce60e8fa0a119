#include "runtime/experts/expert_rebalance.h"

#include <algorithm>
#include <stdexcept>

namespace ms::runtime {

ExpertRebalancer::ExpertRebalancer(std::vector<std::string> worker_names,
                                   std::map<int, ExpertRouter*> routers, int n_layer)
    : routers_(std::move(routers)) {
    for (size_t rank = 0; rank < worker_names.size(); ++rank)
        rank_of_.emplace(worker_names[rank], int(rank));
    std::map<int, WorkerExperts> by_rank;
    for (const auto& [layer, router] : routers_) {
        const transport::ExpertPlacement& p = router->placement();
        n_expert_ = p.n_experts();
        for (int e = 0; e < p.n_experts(); ++e)
            for (int rank : p.replicas(e)) {
                WorkerExperts& w = by_rank[rank];
                w.worker = worker_names.at(size_t(rank));
                w.experts_by_layer.resize(size_t(n_layer));
                w.experts_by_layer[size_t(layer)].push_back(e);
            }
    }
    for (auto& [rank, worker] : by_rank) placement_.push_back(std::move(worker));
}

std::vector<WorkerExperts> ExpertRebalancer::placement() const {
    std::lock_guard lock(mutex_);
    return placement_;
}

bool ExpertRebalancer::pending() const {
    std::lock_guard lock(mutex_);
    return !queued_.empty();
}

void ExpertRebalancer::move(const std::vector<ExpertMove>& moves) {
    for (const ExpertMove& m : moves)
        if (!routers_.count(m.layer))
            throw std::invalid_argument("layer " + std::to_string(m.layer) +
                                        " is not expert-parallel: its experts cannot move");
    std::lock_guard lock(mutex_);
    std::vector<WorkerExperts> after = apply_moves(placement_, moves);
    for (const ExpertMove& m : moves)
        queued_.insert_or_assign(m.layer, layer_placement(after, m.layer));
    placement_ = std::move(after);
}

void ExpertRebalancer::apply_pending() {
    std::map<int, transport::ExpertPlacement> queued;
    {
        std::lock_guard lock(mutex_);
        if (queued_.empty()) return;
        queued.swap(queued_);
    }
    for (const auto& [layer, placement] : queued) routers_.at(layer)->set_placement(placement);
}

transport::ExpertPlacement ExpertRebalancer::layer_placement(
    const std::vector<WorkerExperts>& placement, int layer) const {
    std::vector<std::vector<int>> ranks(static_cast<size_t>(n_expert_));
    for (const WorkerExperts& w : placement)
        for (int e : w.experts_by_layer.at(size_t(layer)))
            ranks.at(size_t(e)).push_back(rank_of_.at(w.worker));
    for (auto& copies : ranks) std::sort(copies.begin(), copies.end());
    return transport::ExpertPlacement(std::move(ranks));
}

namespace {

class StepStart final : public model::Unit {
public:
    StepStart(std::unique_ptr<model::Unit> first, ExpertRebalancer& rebalancer)
        : first_(std::move(first)), rebalancer_(rebalancer) {}

    std::string name() const override { return first_->name(); }
    void forward(const model::StepContext& ctx, model::Activations& x) override {
        rebalancer_.apply_pending();
        first_->forward(ctx, x);
    }

private:
    std::unique_ptr<model::Unit> first_;
    ExpertRebalancer& rebalancer_;
};

}  // namespace

std::unique_ptr<model::Unit> apply_moves_at_step_start(std::unique_ptr<model::Unit> first,
                                                       ExpertRebalancer& rebalancer) {
    return std::make_unique<StepStart>(std::move(first), rebalancer);
}

}  // namespace ms::runtime
