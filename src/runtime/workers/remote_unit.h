// A stand-in, on the front end, for a unit that runs in another worker: it sends the batch and
// its activations over the transport and waits for the transformed activations.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>

#include "model/unit.h"
#include "transport/row_codec.h"
#include "transport/transport.h"

namespace ms::runtime {

// One worker as the front end reaches it. Replies come on each micro-batch's own tag, so several
// threads (DP groups) may wait for the same worker at once; each holds the mutex shared while its
// request is in flight, and the supervisor takes it exclusively to clear out a dead worker.
struct WorkerConnection {
    transport::Transport* transport = nullptr;
    int rank = 0;
    std::string name;  // role/replica, for error messages
    // A reply slower than this means the worker is stuck (a dead worker is reported at once).
    std::chrono::milliseconds reply_timeout{30'000};
    std::shared_mutex mutex;
    // Set when the transport failed (the worker died or stopped answering): requests fail at
    // once until the worker supervisor has relaunched it and clears the flag.
    std::atomic<bool> broken{false};
    // Times the supervisor brought the worker back: a relaunched worker starts from the
    // deployment's plan, so state the front end changed since (expert placement) must be resent.
    std::atomic<uint32_t> relaunches{0};
};

// Errors (the worker died, timed out or reported a failure) are std::runtime_error naming the
// worker and the unit. With int8 the activations travel quantized and the worker replies with
// the unit's delta (runtime/unit_wire.h): only for residual units.
std::unique_ptr<model::Unit> make_remote_unit(std::string unit_name, WorkerConnection& worker,
                                              transport::RowFormat format);

}  // namespace ms::runtime
