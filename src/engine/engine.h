// The serving engine: many requests share one model through continuous batching. A loop
// thread asks the scheduler (scheduler/scheduler.h) for each step's plan (decodes first, then
// prompt chunks under a token budget), runs it on the model (step_executor.h), samples, and
// reports tokens through callbacks. The scheduler's KV manager pages KV in blocks named by a
// hash of their token prefix, so requests sharing a prefix reuse its blocks; unreferenced blocks
// stay cached until LRU eviction. When KV runs out the newest running request is preempted and
// later recomputed. A model with several attention
// data-parallel groups (ChainExecutor::set_dp_groups) gets one loop per group, each with its own
// share of the requests, KV blocks and limits; a new request goes to the group that was sent the
// longest prefix of its prompt (prefix_router.h), unless that group is much busier than the
// least loaded one, where it goes otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/sampler.h"

namespace ms::executor {
class ChainExecutor;
}
namespace ms::tok {
class Vocab;
}
namespace ms::scheduler {
struct StepPlan;
}

namespace ms::engine {

// kv_blocks, max_running and max_waiting are totals, shared equally by the DP groups.
struct EngineOptions {
    int32_t threads = 0;        // per DP group (they take turns); 0: all hardware threads
    int32_t n_ctx = 8192;       // most tokens (prompt + generated) in one request
    int32_t block_size = 16;    // tokens per KV block
    int32_t kv_blocks = 0;      // 0: max_running requests of 1024 tokens, within 1/4 of memory
    int32_t max_running = 64;   // requests decoding at once
    int32_t max_waiting = 256;  // queue bound; more are refused (HTTP 429)
    int32_t step_token_budget = 512;  // tokens per step: chunked prefill keeps decodes flowing
    bool prefix_caching = true;
    // Sees each step's plan before it runs, on the DP group's loop thread (tracing, tests).
    std::function<void(const scheduler::StepPlan&)> on_plan = nullptr;
};

enum class FinishReason { Stop, Length, Cancelled, Deadline, Error };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", ...

struct GenerationRequest {
    std::vector<int32_t> prompt;
    SamplingParams sampling;
    int32_t max_tokens = 256;
    bool ignore_eos = false;
    int32_t top_logprobs = -1;  // -1: no logprobs; 0..20: chosen token's and the top N
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    // Not admitted by then: ends with Error and retry_later (the server is overloaded).
    std::chrono::steady_clock::time_point queue_deadline =
        std::chrono::steady_clock::time_point::max();
};

struct TokenEvent {
    int32_t token = -1;
    float logprob = 0.0f;                        // only when logprobs were asked for
    std::vector<std::pair<int32_t, float>> top;  // (token, logprob), best first
};

struct FinishEvent {
    FinishReason reason = FinishReason::Stop;
    std::string error;  // for Error
    int32_t prompt_tokens = 0;
    int32_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
    int32_t completion_tokens = 0;
    bool retry_later = false;  // Error: the model could not run now (model::UnitUnavailable)
};

// Called on the engine thread: keep them short (hand the work to another thread).
// on_token returns false to end the request with reason Stop (e.g. a stop string matched).
struct RequestCallbacks {
    std::function<bool(const TokenEvent&)> on_token;
    std::function<void(const FinishEvent&)> on_finish;
};

enum class SubmitStatus { Accepted, QueueFull, TooLong, Draining, Invalid };

struct SubmitResult {
    SubmitStatus status = SubmitStatus::Accepted;
    uint64_t id = 0;
    std::string message;  // why it was refused
};

struct EngineStats {
    int32_t running = 0;
    int32_t waiting = 0;
    int32_t kv_blocks_total = 0;
    int32_t kv_blocks_used = 0;    // referenced by running requests
    int32_t kv_blocks_cached = 0;  // unreferenced, kept for prefix reuse
    uint64_t prefix_queries = 0;   // prompt tokens looked up in the prefix cache
    uint64_t prefix_hits = 0;      // of those, found
    uint64_t prompt_tokens = 0;    // prompt tokens computed
    uint64_t generation_tokens = 0;
    uint64_t preemptions = 0;
    uint64_t steps = 0;
};

class Engine {
public:
    // Runs the chain executor's model with one loop per DP group. The vocabulary (the process's
    // one) decides which tokens end a generation.
    Engine(executor::ChainExecutor& chain, const tok::Vocab& vocab, const EngineOptions& options);
    ~Engine();  // stops the loop; requests still running finish with Cancelled
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    SubmitResult submit(GenerationRequest request, RequestCallbacks callbacks);
    // Ends a request early with reason Cancelled (client disconnected); its KV blocks are
    // released before the next step. Unknown or finished ids are ignored.
    void cancel(uint64_t id);
    // Refuses new requests and returns once every accepted one has finished.
    void drain();
    EngineStats stats() const;
    const EngineOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ms::engine
