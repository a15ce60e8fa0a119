// The front end's half of an expert-parallel MoE layer: it runs the layer's router (norm, router
// logits, top-k, shared expert, residual) and sends each token to the workers holding its chosen
// experts through the expert exchange, then adds their combined, weighted results.
#pragma once
#include <map>
#include <memory>

#include "model/moe.h"
#include "runtime/remote_unit.h"
#include "transport/expert_exchange.h"

namespace ms::runtime {

// `layer` is the colocated unit whose router (and weights) it uses; `workers` are the expert
// workers by transport rank (every rank of the placement). Errors are std::runtime_error naming
// the worker and the layer.
std::unique_ptr<model::Unit> make_expert_router(std::unique_ptr<model::MoeLayer> layer,
                                                transport::Transport& transport,
                                                const transport::ExpertPlacement& placement,
                                                transport::ExchangeOptions options,
                                                std::map<int, WorkerConnection*> workers);

}  // namespace ms::runtime
