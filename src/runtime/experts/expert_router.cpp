#include "runtime/experts/expert_router.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "runtime/workers/unit_wire.h"
#include "transport/exchange_wire.h"

namespace ms::runtime {
namespace {

// A dead worker is reported at once; this bounds the wait for a stuck one, as a unit's does.
transport::ExchangeOptions with_front_end_timeout(transport::ExchangeOptions options,
                                                  const std::map<int, WorkerConnection*>& workers) {
    options.timeout = transport::Milliseconds{0};
    for (const auto& [rank, worker] : workers)
        options.timeout = std::max(options.timeout, worker->reply_timeout);
    return options;
}

}  // namespace

ExpertRouter::ExpertRouter(std::unique_ptr<model::MoeLayer> layer, transport::Transport& transport,
                           const transport::ExpertPlacement& placement,
                           transport::ExchangeOptions options,
                           std::map<int, WorkerConnection*> workers)
    : layer_(std::move(layer)),
      transport_(transport),
      options_(with_front_end_timeout(options, workers)),
      workers_(std::move(workers)) {
    for (int rank : placement.expert_ranks())
        if (!workers_.count(rank))
            throw std::invalid_argument(name() + ": no connection to expert rank " +
                                        std::to_string(rank));
    for (const auto& [rank, worker] : workers_) told_relaunch_[rank] = worker->relaunches;
    exchange_ = std::make_shared<transport::ExpertExchange>(
        transport_, placement, layer_->experts().source().n_embd, options_);
}

void ExpertRouter::forward(const model::StepContext& ctx, model::Activations& x) {
    begin(ctx, x, 0);
    end(x, 0);
}

bool ExpertRouter::begin(const model::StepContext& ctx, model::Activations& x, int micro_batch) {
    InFlight& f = in_flight_.at(size_t(micro_batch));
    if (!f.router) f.router.emplace(layer_->router());
    f.router->set_observer(layer_->router().observer());  // set once serving starts
    f.router->route(ctx, x);
    f.id = {next_step_++, uint32_t(micro_batch), uint32_t(layer())};
    try {
        prepare_workers();
        for (int rank : placement().expert_ranks())
            transport_.send(rank, kUnitRequestTag, encode_serve_experts(f.id));
        f.exchange = exchange_;
        f.exchange->dispatch(f.id, f.router->normed().data, routes(f), int(f.router->n_used()));
    } catch (const transport::TransportError& e) {
        fail(e);
    }
    f.router->run_shared(ctx);  // while the experts run
    return true;
}

void ExpertRouter::end(model::Activations& x, int micro_batch) {
    InFlight& f = in_flight_.at(size_t(micro_batch));
    const auto exchange = std::move(f.exchange);
    throw_if_down();  // found down by another micro-batch: its combine would never come
    f.routed_sum.resize(x.rows, x.cols);
    try {
        exchange->combine(f.id, f.routed_sum.data);
    } catch (const transport::TransportError& e) {
        fail(e);
    } catch (const transport::ExchangeRefused& e) {
        throw std::runtime_error(name() + ": an expert worker could not serve it: " + e.what());
    }
    f.router->add_output(f.routed_sum, x);
}

void ExpertRouter::set_placement(const transport::ExpertPlacement& placement) {
    std::set<int> told(placement.expert_ranks().begin(), placement.expert_ranks().end());
    told.insert(this->placement().expert_ranks().begin(), this->placement().expert_ranks().end());
    for (int rank : told)
        if (!workers_.count(rank))
            throw std::invalid_argument(name() + ": no connection to expert rank " +
                                        std::to_string(rank));
    try {
        for (int rank : told) send_placement(rank, placement);
    } catch (const transport::TransportError& e) {
        fail(e);
    }
    exchange_ = std::make_shared<transport::ExpertExchange>(
        transport_, placement, layer_->experts().source().n_embd, options_);
}

std::span<const transport::ExpertRoute> ExpertRouter::routes(InFlight& exchange) {
    const auto choices = exchange.router->choices();
    exchange.routes.resize(choices.size());
    for (size_t i = 0; i < choices.size(); ++i)
        exchange.routes[i] = {int32_t(choices[i].expert), choices[i].weight};
    return exchange.routes;
}

void ExpertRouter::prepare_workers() {
    throw_if_down();
    for (const auto& [rank, worker] : workers_)
        if (worker->relaunches != told_relaunch_[rank]) send_placement(rank, placement());
}

void ExpertRouter::throw_if_down() const {
    for (const auto& [rank, worker] : workers_)
        if (worker->broken)
            throw model::UnitUnavailable("worker " + worker->name + " running " + name() +
                                         " experts: the worker is down; the front end "
                                         "relaunches it");
}

void ExpertRouter::send_placement(int rank, const transport::ExpertPlacement& placement) {
    const uint32_t relaunches = workers_.at(rank)->relaunches;
    transport_.send(rank, kUnitRequestTag, encode_place_experts(layer(), placement));
    told_relaunch_[rank] = relaunches;
}

void ExpertRouter::fail(const transport::TransportError& e) const {
    const auto it = workers_.find(e.peer());
    if (it == workers_.end()) throw std::runtime_error(name() + " experts: " + e.what());
    const std::string what = "worker " + it->second->name + " running " + name() + " experts: ";
    if (e.kind() == transport::TransportError::Kind::invalid_argument)
        throw std::runtime_error(what + e.what());
    it->second->broken = true;
    throw model::UnitUnavailable(what + e.what());
}

}  // namespace ms::runtime
