// The expert half of a worker's expert-parallel MoE layers: per layer the experts it holds
// (views of the mapped model, nothing else of the layer) and the exchange over which the front
// end sends them tokens. Stateless between exchanges.
#pragma once
#include <map>
#include <memory>

#include "kernels/thread_pool.h"
#include "model/model.h"
#include "model/moe.h"
#include "runtime/deployment/worker_group.h"
#include "transport/expert_exchange.h"

namespace ms::runtime {

class ExpertHost {
public:
    ExpertHost(transport::Transport& transport, ThreadPool* pool,
               transport::ExchangeOptions options);

    // Serves `layer` with the experts `placement` puts on this worker's rank (views of the
    // source's mapped file; none is fine: a later placement may bring some).
    void add_layer(int layer, const model::ExpertSource& source,
                   const transport::ExpertPlacement& placement);
    // A new placement of an added layer (a rebalance): loads the experts it brings here and
    // drops those it takes away. Call between exchanges.
    void place(int layer, const transport::ExpertPlacement& placement);
    bool empty() const { return layers_.empty(); }
    // The experts of `layer` held here (empty for a layer not added).
    std::vector<int> experts(int layer) const;

    // Takes part in one exchange of `source_rank`: receives its tokens, runs each expert once on
    // them and sends the results back. Throws TransportError or std::runtime_error.
    void serve(transport::ExchangeId id, int source_rank);

private:
    struct Layer {
        model::ExpertBank bank;
        std::unique_ptr<transport::ExpertExchange> exchange;
    };
    Layer& layer(uint32_t index);
    std::vector<int> placed_here(const transport::ExpertPlacement& placement) const;

    transport::Transport& transport_;
    ThreadPool* pool_;
    transport::ExchangeOptions options_;
    std::map<int, Layer> layers_;
};

// The MoE layer units of a model's chain, by layer.
std::map<int, model::MoeLayer*> moe_layers(const model::Model& model);

// The exchange options a deployment asks for (INT8 rows in transit or not).
transport::ExchangeOptions exchange_options(const Deployment& deployment);

// The host for worker `index`: if it holds experts of any expert-parallel layer, every such
// layer with the experts it holds there (maybe none, for a rebalance to add). Empty otherwise.
std::unique_ptr<ExpertHost> make_expert_host(const model::Model& model, const WorkerGroup& group,
                                             size_t index, transport::Transport& transport,
                                             ThreadPool* pool);

}  // namespace ms::runtime
