// What the engine knows about one request while it is queued or running (engine thread only).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/sampler.h"

namespace ms::engine {

struct RequestState {
    using Clock = std::chrono::steady_clock;

    uint64_t id = 0;
    GenerationRequest request;
    RequestCallbacks callbacks;
    std::unique_ptr<Sampler> sampler;
    std::vector<int32_t> tokens;         // prompt, then generated tokens
    int32_t computed = 0;                // leading tokens whose KV is in blocks
    std::vector<int32_t> blocks;         // KV block table
    std::vector<uint64_t> block_hashes;  // chain hashes of the leading full blocks, as known
    int32_t generated = 0;
    int32_t cached_prompt = 0;
    bool admitted_before = false;  // a preempted request is not counted as a cache query twice

    // Tokens to compute before the next sample.
    int32_t pending() const { return int32_t(tokens.size()) - computed; }
};

}  // namespace ms::engine
