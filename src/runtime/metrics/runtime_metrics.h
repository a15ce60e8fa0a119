// Prometheus samples about a split deployment's runtime, for the server's /metrics: time in each
// unit by kind and location, and transport traffic per peer. Other parts of the runtime add
// their own samples (micro-batch bubbles, tokens per expert) by registering a source.
#pragma once
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "executor/chain_executor.h"
#include "runtime/deployment/worker_group.h"
#include "transport/transport.h"

namespace ms::runtime {

class MetricsRegistry {
public:
    // Appends samples (with # HELP and # TYPE lines) to `out`; `labels` (e.g. model_name="m",
    // already escaped) goes first in the label set of every sample. Called at scrape time, from
    // the server's threads: it must be safe to call while the model runs.
    using Source = std::function<void(std::string& out, const std::string& labels)>;

    void add(Source source);
    std::string render(const std::string& labels) const;

private:
    mutable std::mutex mutex_;
    std::vector<Source> sources_;
};

// matrixserve:unit_seconds_total and unit_calls_total by unit kind (embed, attn, ffn, moe, head,
// ...) and location: "local" for units the front end runs, "shared" for a head shared between
// workers, else the worker's name (role/replica), where the time is the round trip seen by the
// front end. The executor must time its units
// (ChainExecutor::time_units). `location_of` gives each chain index's location.
MetricsRegistry::Source unit_time_source(const executor::ChainExecutor& chain,
                                         std::vector<std::string> location_of);

// matrixserve:transport_bytes_total, transport_messages_total and transport_seconds_total by peer
// (the worker's name) and direction (sent, received); receive time includes waiting for the
// peer's reply, hence its compute.
MetricsRegistry::Source transport_source(const transport::Transport& transport,
                                         const WorkerGroup& group);

// matrixserve:pipeline_steps_total, pipeline_micro_batches_total, pipeline_step_seconds_total and
// pipeline_bubble_seconds_total: steps run as several micro-batches (executor/micro_batch.h), their
// slices and time, and the part of it the front end waited for a worker with nothing else to run.
MetricsRegistry::Source pipeline_source(const executor::PipelineCounters& counters);

// The kind of a unit from its chain name: "blk.3.attn" -> "attn", "embed" -> "embed".
std::string unit_kind(const std::string& unit_name);

}  // namespace ms::runtime
