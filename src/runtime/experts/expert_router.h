// The front end's half of an expert-parallel MoE layer: it runs the layer's router (norm, router
// logits, top-k, shared expert, residual) and sends each token to the workers holding its chosen
// experts through the expert exchange, then adds their combined, weighted results.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <optional>

#include "model/moe.h"
#include "runtime/workers/remote_unit.h"
#include "transport/expert_exchange.h"

namespace ms::runtime {

class ExpertRouter final : public model::Unit {
public:
    // `layer` is the colocated unit whose router (and weights) it uses; `workers` are the
    // workers that may hold experts, by transport rank (every rank of any placement).
    ExpertRouter(std::unique_ptr<model::MoeLayer> layer, transport::Transport& transport,
                 const transport::ExpertPlacement& placement, transport::ExchangeOptions options,
                 std::map<int, WorkerConnection*> workers);

    std::string name() const override { return layer_->name(); }
    int layer() const { return int(layer_->layer()); }
    // Errors are std::runtime_error naming the worker and the layer; model::UnitUnavailable when
    // a worker is down or its transport failed (the supervisor relaunches it).
    void forward(const model::StepContext& ctx, model::Activations& x) override;
    // Micro-batches: begin routes the slice, dispatches its tokens and runs the shared expert;
    // end combines the experts' results. Each micro-batch has its own copy of the router's state.
    bool begin(const model::StepContext& ctx, model::Activations& x, int micro_batch) override;
    void end(model::Activations& x, int micro_batch) override;

    const transport::ExpertPlacement& placement() const { return exchange_->placement(); }
    // From the next forward on, tokens go to `placement`: first tells every worker of the old
    // and the new placement which experts of the layer it holds now. Call on the thread running
    // steps, between units; micro-batches already dispatched combine under the old placement.
    void set_placement(const transport::ExpertPlacement& placement);

private:
    // One micro-batch's exchange between begin and end.
    struct InFlight {
        std::optional<model::MoeRouter> router;  // a copy of the layer's (its weights are views)
        std::shared_ptr<transport::ExpertExchange> exchange;  // the placement it was sent under
        transport::ExchangeId id;
        std::vector<transport::ExpertRoute> routes;
        model::Activations routed_sum;
    };
    static std::span<const transport::ExpertRoute> routes(InFlight& exchange);
    // Throws model::UnitUnavailable while a worker is down; resends the placement to a worker
    // relaunched since this layer last told it.
    void prepare_workers();
    void throw_if_down() const;
    void send_placement(int rank, const transport::ExpertPlacement& placement);
    [[noreturn]] void fail(const transport::TransportError& e) const;

    std::unique_ptr<model::MoeLayer> layer_;
    transport::Transport& transport_;
    transport::ExchangeOptions options_;
    std::shared_ptr<transport::ExpertExchange> exchange_;
    std::map<int, WorkerConnection*> workers_;
    std::map<int, uint32_t> told_relaunch_;  // per rank: its relaunch count when last told
    uint32_t next_step_ = 0;
    std::array<InFlight, model::kMaxMicroBatches> in_flight_;
};

}  // namespace ms::runtime
