// What the engine knows about one request besides its tokens and KV (the scheduler's): how to
// sample it and whom to tell (engine thread only).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>

#include "engine/engine.h"
#include "engine/sampler.h"

namespace ms::engine {

struct RequestState {
    using Clock = std::chrono::steady_clock;

    uint64_t id = 0;
    GenerationRequest request;
    RequestCallbacks callbacks;
    std::unique_ptr<Sampler> sampler;
    int32_t generated = 0;
    int32_t cached_prompt = 0;
    bool admitted = false;  // once: the queue deadline no longer applies
};

}  // namespace ms::engine
