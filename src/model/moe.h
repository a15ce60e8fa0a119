// The two halves of a mixture-of-experts layer, used together in one unit (colocated) or apart
// (expert parallelism: the router half runs with the layer's attention and sends tokens to
// workers holding the expert half).
//   MoeRouter:  pre-norm, router logits, top-k choice, the shared expert, and adding the
//               combined output to the residual.
//   ExpertBank: some of the layer's routed experts (views of the mapped file), each run on the
//               rows sent to it.
// The colocated unit (MoeLayer) sums the weighted expert outputs per token in route order from
// zero, the order the expert exchange's combine uses, so both placements round alike.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/moe_spec.h"
#include "model/swiglu.h"
#include "model/unit.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

// The shared expert: every token goes through it, optionally scaled by a sigmoid gate.
struct SharedExpert {
    SwiGlu block;
    std::span<const float> gate;  // empty: weight 1

    float weight(const float* x) const;
};

// Told every routing decision (e.g. to count tokens per expert); called from the thread running
// the layer.
class RoutingObserver {
public:
    virtual ~RoutingObserver() = default;
    virtual void observe(int64_t layer, std::span<const ExpertChoice> choices) = 0;
};

class MoeRouter {
public:
    MoeRouter(const gguf::File& f, const HParams& hp, int64_t layer, const MoeSpec& spec);

    int64_t n_expert() const { return router_.policy().n_expert; }
    int64_t n_used() const { return router_.policy().n_used; }
    // Null (the default) for none.
    void set_observer(RoutingObserver* observer) { observer_ = observer; }
    RoutingObserver* observer() const { return observer_; }

    // Normalises x and chooses n_used experts per token: afterwards normed() holds the rows the
    // experts see and choices() n_tokens x n_used (expert, weight), best first.
    void route(const StepContext& ctx, const Activations& x);
    const Activations& normed() const { return normed_; }
    std::span<const ExpertChoice> choices() const { return choices_; }

    // Runs the shared expert (if any) on normed(); call after route().
    void run_shared(const StepContext& ctx);
    // x += routed_sum (+ the shared expert's output), per token, in llama.cpp's order.
    void add_output(const Activations& routed_sum, Activations& x) const;

private:
    int64_t layer_;
    RoutingObserver* observer_ = nullptr;
    std::span<const float> norm_;
    kernels::MatView router_weights_;
    std::span<const float> selection_bias_;
    Router router_;
    std::optional<SharedExpert> shared_;
    float eps_;
    std::vector<ExpertChoice> choices_;
    Activations normed_, logits_, shared_out_, gate_, up_;
};

// Where a layer's routed experts live in the mapped file, so that any subset can be viewed.
struct ExpertSource {
    const gguf::File* file = nullptr;
    std::string prefix;  // "blk.N."
    int64_t n_embd = 0;
    int64_t n_ff = 0;
    int64_t n_expert = 0;
};

class ExpertBank {
public:
    // Views of `experts` (ids in 0..n_expert-1) of the source's layer; nothing is read yet.
    ExpertBank(ExpertSource source, const std::vector<int>& experts);

    const ExpertSource& source() const { return source_; }
    bool holds(int expert) const { return experts_.count(expert) != 0; }
    std::vector<int> experts() const;
    // Adds or drops one expert (a rebalance); adding views the mapped file, so its pages are
    // read when it first runs.
    void load(int expert);
    void unload(int expert);

    // out (n x n_embd) = expert applied to rows (n x n_embd). Not thread-safe (scratch).
    void run(int expert, const float* rows, int64_t n, float* out, ThreadPool* pool);

private:
    ExpertSource source_;
    std::map<int, SwiGlu> experts_;
    Activations gate_, up_;
};

// Sends each token's normed row to its chosen experts (held by `bank`), and sums
// weight x output over a token's choices in order from zero into routed_sum (n_tokens x n_embd).
class LocalExperts {
public:
    void run(const MoeRouter& router, ExpertBank& bank, ThreadPool* pool, Activations& routed_sum);

private:
    struct Route {
        int64_t token;
        int64_t slot;
        float weight;
    };
    std::vector<std::vector<Route>> routes_;  // per expert: the tokens sent to it
    Activations gathered_, expert_out_, slot_out_;
};

// A whole MoE layer in one place: the router, every expert, run locally.
class MoeLayer final : public Unit {
public:
    MoeLayer(const gguf::File& f, const HParams& hp, int64_t layer, const MoeSpec& spec);

    std::string name() const override { return prefix_ + "moe"; }
    void forward(const StepContext& ctx, Activations& x) override;

    int64_t layer() const { return layer_; }
    MoeRouter& router() { return router_; }
    ExpertBank& experts() { return experts_; }

private:
    std::string prefix_;
    int64_t layer_;
    MoeRouter router_;
    ExpertBank experts_;
    LocalExperts local_;
    Activations routed_sum_;
};

}  // namespace ms::model
