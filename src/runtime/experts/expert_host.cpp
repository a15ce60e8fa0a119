#include "runtime/experts/expert_host.h"

#include <algorithm>
#include <stdexcept>

#include "runtime/deployment/unit_placement.h"

namespace ms::runtime {

ExpertHost::ExpertHost(transport::Transport& transport, ThreadPool* pool,
                       transport::ExchangeOptions options)
    : transport_(transport), pool_(pool), options_(options) {}

std::vector<int> ExpertHost::placed_here(const transport::ExpertPlacement& placement) const {
    std::vector<int> experts;
    for (int e = 0; e < placement.n_experts(); ++e)
        if (placement.holds(transport_.rank(), e)) experts.push_back(e);
    return experts;
}

void ExpertHost::add_layer(int layer, const model::ExpertSource& source,
                           const transport::ExpertPlacement& placement) {
    layers_.insert_or_assign(layer, Layer{model::ExpertBank(source, placed_here(placement)),
                                          std::make_unique<transport::ExpertExchange>(
                                              transport_, placement, source.n_embd, options_)});
}

void ExpertHost::place(int index, const transport::ExpertPlacement& placement) {
    Layer& l = layer(uint32_t(index));
    for (int e : l.bank.experts())
        if (!placement.holds(transport_.rank(), e)) l.bank.unload(e);
    for (int e : placed_here(placement))
        if (!l.bank.holds(e)) l.bank.load(e);
    l.exchange = std::make_unique<transport::ExpertExchange>(transport_, placement,
                                                             l.bank.source().n_embd, options_);
}

std::vector<int> ExpertHost::experts(int layer) const {
    const auto it = layers_.find(layer);
    return it == layers_.end() ? std::vector<int>{} : it->second.bank.experts();
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
    const auto layers = moe_layers(model);
    const bool expert_worker = std::any_of(layers.begin(), layers.end(), [&](const auto& layer) {
        return is_expert_parallel(group.plans, layer.first) &&
               !experts_held(group.plans[index], layer.first).empty();
    });
    if (!expert_worker) return host;
    for (const auto& [layer, moe] : layers)
        if (is_expert_parallel(group.plans, layer))
            host->add_layer(layer, moe->experts().source(),
                            expert_placement(group.plans, layer, n_expert));
    return host;
}

}  // namespace ms::runtime
