#include "transport/expert_exchange.h"

#include <algorithm>
#include <string>

#include "transport/exchange_wire.h"

namespace ms::transport {
namespace {

// A dispatch sent with its serve request arrives right after it.
constexpr Milliseconds kLateDispatch{100};

[[noreturn]] void throw_invalid(const std::string& what) {
    throw TransportError(TransportError::Kind::invalid_argument, -1, "expert exchange: " + what);
}

Tag dispatch_tag(ExchangeId id) {
    return make_tag(TagKind::expert_dispatch, id.step, id.micro_batch, id.layer);
}
Tag combine_tag(ExchangeId id) {
    return make_tag(TagKind::expert_combine, id.step, id.micro_batch, id.layer);
}

// One destination's share of a dispatch: each token row once, one pair per route.
struct Outgoing {
    std::vector<float> rows;
    std::vector<RowPair> pairs;
    int64_t last_token = -1;
};

// One (source, pair) that an expert must process, in the order they arrived.
struct Assignment {
    size_t source;
    size_t pair;
};

}  // namespace

ExpertExchange::ExpertExchange(Transport& transport, ExpertPlacement placement, int64_t dim,
                               ExchangeOptions options)
    : transport_(transport), placement_(std::move(placement)), dim_(dim), options_(options) {
    if (dim < 1) throw_invalid("hidden size " + std::to_string(dim) + " must be positive");
    for (int rank : placement_.expert_ranks())
        if (rank >= transport.size())
            throw_invalid("placement names rank " + std::to_string(rank) +
                          " but the transport has " + std::to_string(transport.size()));
}

void ExpertExchange::dispatch(ExchangeId id, std::span<const float> hidden,
                              std::span<const ExpertRoute> routes, int k) {
    if (k < 1 || routes.size() % size_t(k) != 0)
        throw_invalid(std::to_string(routes.size()) +
                      " routes is not a multiple of k = " + std::to_string(k));
    const int64_t n_tokens = int64_t(routes.size()) / k;
    if (hidden.size() != size_t(n_tokens * dim_))
        throw_invalid("hidden holds " + std::to_string(hidden.size()) + " values, not " +
                      std::to_string(n_tokens) + " tokens x " + std::to_string(dim_));
    const std::vector<int>& ranks = placement_.expert_ranks();
    std::vector<Outgoing> outgoing(ranks.size());
    Pending pending{n_tokens, k, {}, std::vector<std::vector<int64_t>>(ranks.size())};
    pending.weights.reserve(routes.size());
    for (int64_t t = 0; t < n_tokens; ++t) {
        for (int j = 0; j < k; ++j) {
            const ExpertRoute route = routes[size_t(t * k + j)];
            const int rank = placement_.rank_for(route.expert, transport_.rank(), t);
            const size_t d =
                size_t(std::lower_bound(ranks.begin(), ranks.end(), rank) - ranks.begin());
            Outgoing& out = outgoing[d];
            if (out.last_token != t) {
                out.rows.insert(out.rows.end(), hidden.begin() + t * dim_,
                                hidden.begin() + (t + 1) * dim_);
                out.last_token = t;
            }
            out.pairs.push_back({uint32_t(out.rows.size() / size_t(dim_) - 1), route.expert});
            pending.route_of_pair[d].push_back(t * k + j);
            pending.weights.push_back(route.weight);
        }
    }
    {
        std::lock_guard lock(mutex_);
        if (!pending_.emplace(dispatch_tag(id), std::move(pending)).second)
            throw_invalid("exchange step " + std::to_string(id.step) + " micro-batch " +
                          std::to_string(id.micro_batch) + " layer " + std::to_string(id.layer) +
                          " was dispatched twice");
    }
    const RowFormat format = options_.int8_activations ? RowFormat::int8 : RowFormat::float32;
    for (size_t d = 0; d < ranks.size(); ++d)
        transport_.send_owned(ranks[d], dispatch_tag(id),
                              encode_exchange(format, dim_, outgoing[d].rows, outgoing[d].pairs));
}

void ExpertExchange::combine(ExchangeId id, std::span<float> out) {
    Pending pending;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(dispatch_tag(id));
        if (it == pending_.end())
            throw_invalid("combine of step " + std::to_string(id.step) + " micro-batch " +
                          std::to_string(id.micro_batch) + " layer " + std::to_string(id.layer) +
                          " without its dispatch");
        pending = std::move(it->second);
        pending_.erase(it);
    }
    if (out.size() != size_t(pending.n_tokens * dim_))
        throw_invalid("combine output holds " + std::to_string(out.size()) + " values, not " +
                      std::to_string(pending.n_tokens) + " tokens x " + std::to_string(dim_));
    const std::vector<int>& ranks = placement_.expert_ranks();
    std::vector<ExchangeMessage> results(ranks.size());
    std::vector<const float*> route_rows(pending.weights.size(), nullptr);
    for (size_t d = 0; d < ranks.size(); ++d) {
        results[d] =
            decode_exchange(transport_.recv(ranks[d], combine_tag(id), options_.timeout), dim_);
        const auto& routes = pending.route_of_pair[d];
        if (results[d].n_rows != int64_t(routes.size()))
            throw_invalid("rank " + std::to_string(ranks[d]) + " returned " +
                          std::to_string(results[d].n_rows) + " rows for " +
                          std::to_string(routes.size()) + " routes");
        for (size_t p = 0; p < routes.size(); ++p)
            route_rows[size_t(routes[p])] = results[d].rows.data() + p * size_t(dim_);
    }
    std::fill(out.begin(), out.end(), 0.0f);
    for (size_t route = 0; route < route_rows.size(); ++route) {
        float* row = out.data() + (route / size_t(pending.k)) * size_t(dim_);
        const float weight = pending.weights[route];
        for (int64_t i = 0; i < dim_; ++i) row[i] += weight * route_rows[route][i];
    }
}

void ExpertExchange::serve(ExchangeId id, std::span<const int> source_ranks,
                           const ExpertFunction& expert) {
    std::vector<ExchangeMessage> inputs(source_ranks.size());
    std::map<int, std::vector<Assignment>> work;  // by expert, ascending
    for (size_t s = 0; s < source_ranks.size(); ++s) {
        inputs[s] = decode_exchange(
            transport_.recv(source_ranks[s], dispatch_tag(id), options_.timeout), dim_);
        for (size_t p = 0; p < inputs[s].pairs.size(); ++p) {
            const int e = inputs[s].pairs[p].expert;
            if (!placement_.holds(transport_.rank(), e))
                throw_invalid("rank " + std::to_string(source_ranks[s]) +
                              " sent a token for expert " + std::to_string(e) + ", which rank " +
                              std::to_string(transport_.rank()) + " does not hold");
            work[e].push_back({s, p});
        }
    }
    std::vector<std::vector<float>> results(source_ranks.size());
    for (size_t s = 0; s < source_ranks.size(); ++s)
        results[s].resize(inputs[s].pairs.size() * size_t(dim_));
    std::vector<float> rows;
    std::vector<float> outputs;
    for (const auto& [e, assignments] : work) {
        rows.resize(assignments.size() * size_t(dim_));
        outputs.assign(rows.size(), 0.0f);
        for (size_t a = 0; a < assignments.size(); ++a) {
            const ExchangeMessage& input = inputs[assignments[a].source];
            const float* row =
                input.rows.data() + input.pairs[assignments[a].pair].row * size_t(dim_);
            std::copy(row, row + dim_, rows.begin() + a * size_t(dim_));
        }
        expert(e, rows, int64_t(assignments.size()), outputs);
        for (size_t a = 0; a < assignments.size(); ++a)
            std::copy(outputs.begin() + a * size_t(dim_), outputs.begin() + (a + 1) * size_t(dim_),
                      results[assignments[a].source].begin() + assignments[a].pair * size_t(dim_));
    }
    const RowFormat format = options_.int8_activations ? RowFormat::int8 : RowFormat::float32;
    for (size_t s = 0; s < source_ranks.size(); ++s)
        transport_.send_owned(source_ranks[s], combine_tag(id),
                              encode_exchange(format, dim_, results[s], {}));
}

void refuse_exchange(Transport& transport, ExchangeId id, int source_rank, const std::string& why) {
    transport.send(source_rank, combine_tag(id), encode_exchange_failure(why));
    try {
        transport.recv(source_rank, dispatch_tag(id), kLateDispatch);
    } catch (const TransportError&) {
        // Already taken by serve(), or never sent.
    }
}

}  // namespace ms::transport
