// Keeps the worker processes of a split deployment running. A thread notices a worker whose
// process ended (waitpid) or whose connection failed while it still runs; it marks the worker
// unavailable, so requests for its units fail at once instead of waiting for it, relaunches it
// (until it comes back, with a doubling backoff capped at max_backoff, each attempt logged on
// stderr), waits for its ready message and puts it back in service. It never gives up: a cause
// that passes (a file restored, memory freed) heals without an operator, and /health reports the
// outage meanwhile so that an orchestrator may act. A worker started elsewhere (attached: no
// command) is not started or relaunched: the supervisor waits for it to connect, and after its
// connection failed, for it to be restarted.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/workers/remote_unit.h"
#include "transport/transport.h"

namespace ms::runtime {

struct RelaunchPolicy {
    std::chrono::milliseconds first_backoff{250};      // before the second attempt, then doubled
    std::chrono::milliseconds max_backoff{10'000};     // the longest wait between attempts
    std::chrono::milliseconds poll{50};                // how often the processes are looked at
    std::chrono::milliseconds ready_timeout{120'000};  // mmap of a cold file on loaded cores
};

// Waits for the ready message of the worker at `rank`. `ended` tells whether (and how) its
// process ended, `cancelled` whether to give up; both are asked between polls. Throws
// std::runtime_error naming `who` when the worker ends, does not answer in time or is cancelled.
void await_worker_ready(transport::Transport& transport, int rank, const std::string& who,
                        std::chrono::milliseconds timeout,
                        const std::function<std::optional<std::string>()>& ended,
                        const std::function<bool()>& cancelled);

class WorkerSupervisor {
public:
    struct Child {
        WorkerConnection* connection = nullptr;  // outlives the supervisor
        std::string address;                     // the worker's transport address
        std::vector<std::string> argv;           // binary and arguments; empty: attached
    };

    WorkerSupervisor(transport::Transport& transport, RelaunchPolicy policy);
    // Stops relaunching and reaps every worker, killing one still running after a grace period.
    ~WorkerSupervisor();
    WorkerSupervisor(const WorkerSupervisor&) = delete;
    WorkerSupervisor& operator=(const WorkerSupervisor&) = delete;

    // Starts the worker's process (an attached one is only awaited). Call before watch().
    void launch(Child child);
    // Waits until every launched worker is ready; throws std::runtime_error naming one that is
    // not, after killing them all.
    void await_all_ready();
    // From now on a worker that dies is relaunched.
    void watch();
    // No more relaunches (before the workers are told to stop); waits for one in progress.
    void stop_relaunching();
    // Why some worker cannot serve now ("" when all can), e.g. "worker ffn/0 is being relaunched
    // (it was killed by signal 9)".
    std::string unavailable() const;

private:
    struct Supervised {
        Child child;
        pid_t pid = 0;
        std::string down;  // why it is unavailable; "" while it serves (guarded by mutex_)
        // The outage in progress, seen by the supervisor's thread only.
        bool in_outage = false;
        std::string why;
        int attempts = 0;
        std::chrono::milliseconds backoff{0};
        std::chrono::steady_clock::time_point next_attempt;
    };

    std::string who(const Supervised& worker) const;
    void run();
    void tend(Supervised& worker);
    std::optional<std::string> lost(Supervised& worker);
    void begin_outage(Supervised& worker, const std::string& why);
    void end_outage(Supervised& worker);
    void schedule_next_attempt(Supervised& worker);
    bool try_relaunch(Supervised& worker);
    bool try_reconnect(Supervised& worker);
    void discard_stale_messages(Supervised& worker);
    void set_down(Supervised& worker, std::string why);
    bool stopping() const;
    void start_process(Supervised& worker);
    static bool attached(const Supervised& worker);
    std::optional<std::string> process_ended(Supervised& worker);
    void kill_process(Supervised& worker);
    void reap_all();

    transport::Transport& transport_;
    RelaunchPolicy policy_;
    std::vector<Supervised> workers_;
    mutable std::mutex mutex_;  // guards the `down` texts and the flags below
    std::condition_variable wake_;
    bool relaunching_stopped_ = false;
    bool relaunch_in_progress_ = false;
    bool exiting_ = false;
    std::thread thread_;
};

}  // namespace ms::runtime
