#include "runtime/expert_router.h"

#include <stdexcept>

#include "runtime/unit_wire.h"

namespace ms::runtime {
namespace {

// A dead worker is reported at once; this only bounds the wait for a stuck one.
constexpr transport::Milliseconds kCombineTimeout{300'000};

transport::ExchangeOptions with_front_end_timeout(transport::ExchangeOptions options) {
    options.timeout = kCombineTimeout;
    return options;
}

class ExpertRouter final : public model::Unit {
public:
    ExpertRouter(std::unique_ptr<model::MoeLayer> layer, transport::Transport& transport,
                 const transport::ExpertPlacement& placement, transport::ExchangeOptions options,
                 std::map<int, WorkerConnection*> workers)
        : layer_(std::move(layer)),
          transport_(transport),
          exchange_(transport, placement, layer_->experts().source().n_embd,
                    with_front_end_timeout(options)),
          expert_ranks_(placement.expert_ranks()),
          workers_(std::move(workers)) {
        for (int rank : expert_ranks_)
            if (!workers_.count(rank))
                throw std::invalid_argument(name() + ": no connection to expert rank " +
                                            std::to_string(rank));
    }

    std::string name() const override { return layer_->name(); }

    void forward(const model::StepContext& ctx, model::Activations& x) override {
        model::MoeRouter& router = layer_->router();
        router.route(ctx, x);
        const transport::ExchangeId id{next_step_++, 0, uint32_t(layer_->layer())};
        try {
            for (int rank : expert_ranks_)
                transport_.send(rank, kUnitRequestTag, encode_serve_experts(id));
            exchange_.dispatch(id, router.normed().data, routes(router), int(router.n_used()));
            router.run_shared(ctx);  // while the experts run
            routed_sum_.resize(x.rows, x.cols);
            exchange_.combine(id, routed_sum_.data);
        } catch (const transport::TransportError& e) {
            fail(e, e.peer());
        }
        router.add_output(routed_sum_, x);
    }

private:
    std::span<const transport::ExpertRoute> routes(const model::MoeRouter& router) {
        const auto choices = router.choices();
        routes_.resize(choices.size());
        for (size_t i = 0; i < choices.size(); ++i)
            routes_[i] = {int32_t(choices[i].expert), choices[i].weight};
        return routes_;
    }

    [[noreturn]] void fail(const transport::TransportError& e, int rank) const {
        const auto it = workers_.find(rank);
        if (it == workers_.end()) throw std::runtime_error(name() + " experts: " + e.what());
        if (e.kind() != transport::TransportError::Kind::invalid_argument)
            it->second->broken = true;
        throw std::runtime_error("worker " + it->second->name + " running " + name() +
                                 " experts: " + e.what());
    }

    std::unique_ptr<model::MoeLayer> layer_;
    transport::Transport& transport_;
    transport::ExpertExchange exchange_;
    std::vector<int> expert_ranks_;
    std::map<int, WorkerConnection*> workers_;
    uint32_t next_step_ = 0;
    std::vector<transport::ExpertRoute> routes_;
    model::Activations routed_sum_;
};

}  // namespace

std::unique_ptr<model::Unit> make_expert_router(std::unique_ptr<model::MoeLayer> layer,
                                                transport::Transport& transport,
                                                const transport::ExpertPlacement& placement,
                                                transport::ExchangeOptions options,
                                                std::map<int, WorkerConnection*> workers) {
    return std::make_unique<ExpertRouter>(std::move(layer), transport, placement, options,
                                          std::move(workers));
}

}  // namespace ms::runtime
