#include "runtime/expert_host.h"

#include <stdexcept>

#include "runtime/unit_placement.h"

namespace ms::runtime {

ExpertHost::ExpertHost(transport::Transport& transport, ThreadPool* pool,
                       transport::ExchangeOptions options)
    : transport_(transport), pool_(pool), options_(options) {}

void ExpertHost::add_layer(int layer, model::ExpertBank bank,
                           const transport::ExpertPlacement& placement) {
    const int64_t dim = bank.source().n_embd;
    layers_.insert_or_assign(layer,
                             Layer{std::move(bank), std::make_unique<transport::ExpertExchange>(
                                                        transport_, placement, dim, options_)});
}

ExpertHost::Layer& ExpertHost::layer(uint32_t index) {
    const auto it = layers_.find(int(index));
    if (it == layers_.end())
        throw std::runtime_error("this worker serves no experts of layer " + std::to_string(index));
    return it->second;
}

void ExpertHost::serve(transport::ExchangeId id, int source_rank) {
    Layer& l = layer(id.layer);
    const int sources[] = {source_rank};
    l.exchange->serve(
        id, sources, [&](int expert, std::span<const float> rows, int64_t n, std::span<float> out) {
            l.bank.run(expert, rows.data(), n, out.data(), pool_);
        });
}

std::map<int, model::MoeLayer*> moe_layers(const model::Model& model) {
    std::map<int, model::MoeLayer*> layers;
    for (const auto& unit : model.units())
        if (auto* moe = dynamic_cast<model::MoeLayer*>(unit.get()))
            layers.emplace(int(moe->layer()), moe);
    return layers;
}

transport::ExchangeOptions exchange_options(const Deployment& deployment) {
    transport::ExchangeOptions options;
    options.int8_activations = deployment.int8_activations;
    return options;
}

std::unique_ptr<ExpertHost> make_expert_host(const model::Model& model, const WorkerGroup& group,
                                             size_t index, transport::Transport& transport,
                                             ThreadPool* pool) {
    auto host = std::make_unique<ExpertHost>(transport, pool, exchange_options(group.deployment));
    const int n_expert = int(model.hparams().n_expert);
    for (const auto& [layer, moe] : moe_layers(model)) {
        const std::vector<int> held = experts_held(group.plans[index], layer);
        if (held.empty() || !is_expert_parallel(group.plans, layer)) continue;
        host->add_layer(layer, model::ExpertBank(moe->experts().source(), held),
                        expert_placement(group.plans, layer, n_expert));
    }
    return host;
}

}  // namespace ms::runtime
