// Expert dispatch and combine over any Transport. An attention rank sends each token's hidden
// state to the ranks holding its top-k experts (dispatch), the expert ranks run each expert once
// on the rows gathered from all attention ranks (serve), and the attention rank sums the weighted
// results back into one row per token (combine). Several exchanges (micro-batches, layers) may be
// in flight at once; each is named by an ExchangeId.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "transport/expert_placement.h"
#include "transport/transport.h"

namespace ms::transport {

struct ExpertRoute {
    int32_t expert;
    float weight;
};

struct ExchangeId {
    uint32_t step = 0;
    uint32_t micro_batch = 0;
    uint32_t layer = 0;
};

struct ExchangeOptions {
    bool int8_activations = false;  // rows travel as int8 with a per-row scale, both ways
    Milliseconds timeout{10000};    // for each receive
};

// Runs `expert` on n_rows rows of the hidden size (row-major), writing as many output rows.
using ExpertFunction = std::function<void(int expert, std::span<const float> rows, int64_t n_rows,
                                          std::span<float> out)>;

class ExpertExchange {
public:
    ExpertExchange(Transport& transport, ExpertPlacement placement, int64_t dim,
                   ExchangeOptions options = {});

    const ExpertPlacement& placement() const { return placement_; }

    // Attention side. routes holds k routes per token (row-major, n_tokens x k). Every expert
    // rank gets one message, empty when none of its experts is chosen.
    void dispatch(ExchangeId id, std::span<const float> hidden, std::span<const ExpertRoute> routes,
                  int k);
    // Attention side, after dispatch(id): out[t] = sum over j of weight_j * expert_j(hidden[t]),
    // added in route order (out is n_tokens x dim and is overwritten). Throws ExchangeRefused
    // (exchange_wire.h) naming the reason when an expert rank could not serve the exchange.
    void combine(ExchangeId id, std::span<float> out);

    // Expert side: takes one dispatch message from each source rank, runs each expert once on
    // its gathered rows and sends every source its results.
    void serve(ExchangeId id, std::span<const int> source_ranks, const ExpertFunction& expert);

private:
    // Where each dispatched route of an exchange went, to put the results back.
    struct Pending {
        int64_t n_tokens = 0;
        int k = 0;
        std::vector<float> weights;                       // n_tokens x k
        std::vector<std::vector<int64_t>> route_of_pair;  // per expert rank: token * k + j
    };

    Transport& transport_;
    ExpertPlacement placement_;
    int64_t dim_;
    ExchangeOptions options_;
    std::mutex mutex_;
    std::map<Tag, Pending> pending_;  // by dispatch tag
};

// Expert side, for an exchange this rank cannot serve (it holds no experts of the layer, or
// serve() failed before answering): answers the source rank's combine with the failure, so the
// attention side fails at once instead of waiting out its timeout, and drops the source's
// dispatch message if it still comes.
void refuse_exchange(Transport& transport, ExchangeId id, int source_rank, const std::string& why);

}  // namespace ms::transport
