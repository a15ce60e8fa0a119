// The expert half of a worker's expert-parallel MoE layers: per layer the experts it holds
// (views of the mapped model, nothing else of the layer) and the exchange over which the front
// end sends them tokens. Stateless between exchanges.
#pragma once
#include <map>
#include <memory>

#include "kernels/thread_pool.h"
#include "model/model.h"
#include "model/moe.h"
#include "runtime/worker_group.h"
#include "transport/expert_exchange.h"

namespace ms::runtime {

class ExpertHost {
public:
    ExpertHost(transport::Transport& transport, ThreadPool* pool,
               transport::ExchangeOptions options);

    void add_layer(int layer, model::ExpertBank bank, const transport::ExpertPlacement& placement);
    bool empty() const { return layers_.empty(); }

    // Takes part in one exchange of `source_rank`: receives its tokens, runs each expert once on
    // them and sends the results back. Throws TransportError or std::runtime_error.
    void serve(transport::ExchangeId id, int source_rank);

private:
    struct Layer {
        model::ExpertBank bank;
        std::unique_ptr<transport::ExpertExchange> exchange;
    };
    Layer& layer(uint32_t index);

    transport::Transport& transport_;
    ThreadPool* pool_;
    transport::ExchangeOptions options_;
    std::map<int, Layer> layers_;
};

// The MoE layer units of a model's chain, by layer.
std::map<int, model::MoeLayer*> moe_layers(const model::Model& model);

// The exchange options a deployment asks for (INT8 rows in transit or not).
transport::ExchangeOptions exchange_options(const Deployment& deployment);

// The host for worker `index`: the experts it holds of every expert-parallel layer. Empty when
// it holds none.
std::unique_ptr<ExpertHost> make_expert_host(const model::Model& model, const WorkerGroup& group,
                                             size_t index, transport::Transport& transport,
                                             ThreadPool* pool);

}  // namespace ms::runtime
