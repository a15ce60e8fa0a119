// One attention data-parallel group of the engine (engine.h): its own requests, scheduler, KV
// blocks and loop thread. Each step is: take new requests, schedule, execute the plan, sample,
// report. Groups share the model; with several, each step's forward pass holds the executor's
// compute turn, so one group computes while another waits for a worker
// (ChainExecutor::set_dp_groups).
#pragma once
#include <cstdint>
#include <memory>

#include "engine/engine.h"

namespace ms::tok {
class Vocab;
}

namespace ms::engine {

struct RequestState;

// Where a group sits among the model's groups and KV blocks.
struct GroupPlace {
    int dp_group = 0;
    int32_t first_block = 0;  // its KV blocks are first_block .. first_block + kv_blocks - 1
};

class EngineGroup {
public:
    // options are this group's share (kv_blocks > 0, max_running, max_waiting); the model's KV
    // store must already hold the group's blocks.
    EngineGroup(executor::ChainExecutor& chain, const EngineOptions& options,
                const tok::Vocab& vocab, GroupPlace place);
    ~EngineGroup();  // stops the loop; requests still running finish with Cancelled
    EngineGroup(const EngineGroup&) = delete;
    EngineGroup& operator=(const EngineGroup&) = delete;

    // Queues a checked request (its id set); refuses it when draining or the queue is full.
    SubmitResult submit(std::unique_ptr<RequestState> request);
    void cancel(uint64_t id);  // unknown ids are ignored
    void start_draining();     // refuses new requests from now on
    void wait_drained();       // until every accepted request has finished
    EngineStats stats() const;
    int32_t load() const;  // requests running or queued
    int64_t kv_capacity_tokens() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ms::engine
