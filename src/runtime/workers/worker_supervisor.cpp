#include "runtime/workers/worker_supervisor.h"

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "runtime/workers/unit_wire.h"
#include "runtime/workers/worker_process.h"

namespace ms::runtime {
namespace {

using transport::TransportError;

constexpr transport::Milliseconds kReadyPoll{100};
// A worker sent stop exits at once; one that does not is killed after this.
constexpr std::chrono::milliseconds kStopGrace{5'000};
// Long enough for the transport to notice that the writer of a stream is gone (it looks every
// 10 ms), so what that writer left behind is discarded.
constexpr transport::Milliseconds kStaleDrain{50};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void await_worker_ready(transport::Transport& transport, int rank, const std::string& who,
                        std::chrono::milliseconds timeout,
                        const std::function<std::optional<std::string>()>& ended,
                        const std::function<bool()>& cancelled) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        try {
            transport.recv(rank, kWorkerReadyTag, kReadyPoll);
            return;
        } catch (const TransportError& e) {
            // peer_gone: the stream's writer is still the previous process of a relaunched worker.
            if (e.kind() == TransportError::Kind::peer_gone)
                std::this_thread::sleep_for(kReadyPoll);
            else if (e.kind() != TransportError::Kind::timeout)
                throw std::runtime_error(who + " did not start: " + e.what());
        }
        if (const auto status = ended())
            throw std::runtime_error(who + " " + *status + " before it was ready");
        if (cancelled()) throw std::runtime_error(who + ": start cancelled");
        if (std::chrono::steady_clock::now() >= give_up)
            throw std::runtime_error(who + " was not ready within " +
                                     std::to_string(timeout.count() / 1000) + " s");
    }
}

WorkerSupervisor::WorkerSupervisor(transport::Transport& transport, RelaunchPolicy policy)
    : transport_(transport), policy_(policy) {}

WorkerSupervisor::~WorkerSupervisor() {
    {
        std::lock_guard lock(mutex_);
        relaunching_stopped_ = exiting_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_
            .join();  // the thread reaps: relaunched workers die with the thread that forked them
    else
        reap_all();
}

void WorkerSupervisor::launch(Child child) {
    Supervised worker;
    worker.child = std::move(child);
    if (!attached(worker)) start_process(worker);
    workers_.push_back(std::move(worker));
}

void WorkerSupervisor::await_all_ready() {
    try {
        for (Supervised& worker : workers_)
            await_worker_ready(
                transport_, worker.child.connection->rank, who(worker), policy_.ready_timeout,
                [&] { return process_ended(worker); }, [] { return false; });
    } catch (const std::runtime_error&) {
        // The deployment does not start: stopping the others politely could wait for the
        // transport's connect timeout on each.
        for (Supervised& worker : workers_) {
            worker.child.connection->broken = true;
            kill_process(worker);
        }
        throw;
    }
}

void WorkerSupervisor::watch() {
    thread_ = std::thread([this] { run(); });
}

void WorkerSupervisor::stop_relaunching() {
    std::unique_lock lock(mutex_);
    relaunching_stopped_ = true;
    wake_.notify_all();
    wake_.wait(lock, [&] { return !relaunch_in_progress_; });
}

std::string WorkerSupervisor::unavailable() const {
    std::lock_guard lock(mutex_);
    std::string why;
    for (const Supervised& worker : workers_) {
        // A connection found broken is down before the supervisor's next look says so.
        const std::string down = !worker.down.empty() ? worker.down
                                 : worker.child.connection->broken
                                     ? who(worker) + " stopped answering"
                                     : "";
        if (!down.empty()) why += (why.empty() ? "" : "; ") + down;
    }
    return why;
}

std::string WorkerSupervisor::who(const Supervised& worker) const {
    return "worker " + worker.child.connection->name + " (" + worker.child.address + ")";
}

void WorkerSupervisor::run() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (wake_.wait_for(lock, policy_.poll, [&] { return exiting_; })) break;
        }
        for (Supervised& worker : workers_)
            if (!stopping()) tend(worker);
    }
    reap_all();
}

// One look at one worker: notices an outage, or makes the next attempt to bring it back. Each
// worker keeps its own schedule, so one that cannot come back does not hold up the others.
void WorkerSupervisor::tend(Supervised& worker) {
    if (!worker.in_outage) {
        const auto why = lost(worker);
        if (!why) return;
        begin_outage(worker, *why);
    }
    if (std::chrono::steady_clock::now() < worker.next_attempt) return;
    {
        std::lock_guard lock(mutex_);
        relaunch_in_progress_ = true;
    }
    const bool back = attached(worker) ? try_reconnect(worker) : try_relaunch(worker);
    if (back)
        end_outage(worker);
    else
        schedule_next_attempt(worker);
    std::lock_guard lock(mutex_);
    relaunch_in_progress_ = false;
    wake_.notify_all();
}

// How the worker was lost, if it was: its process ended, or its connection failed while it
// still runs (it may be stuck, or answer a request that was given up on) — then it is killed,
// since only a new process is sure to pair requests with replies again.
std::optional<std::string> WorkerSupervisor::lost(Supervised& worker) {
    if (auto status = process_ended(worker)) return "it " + *status;
    if (!worker.child.connection->broken) return std::nullopt;
    if (attached(worker)) return "its connection failed";
    kill_process(worker);
    return "its connection failed; killed it";
}

void WorkerSupervisor::begin_outage(Supervised& worker, const std::string& why) {
    worker.in_outage = true;
    worker.why = why;
    worker.attempts = 0;
    worker.backoff = policy_.first_backoff;
    worker.next_attempt = {};
    if (attached(worker)) {
        set_down(worker, who(worker) + " is down (" + why + "); waiting for it to be restarted");
        std::fprintf(stderr, "matrixserve: %s: %s; waiting for it to be restarted\n",
                     who(worker).c_str(), why.c_str());
    } else {
        set_down(worker, who(worker) + " is being relaunched (" + why + ")");
        std::fprintf(stderr, "matrixserve: %s: %s; relaunching it\n", who(worker).c_str(),
                     why.c_str());
    }
    discard_stale_messages(worker);
}

void WorkerSupervisor::end_outage(Supervised& worker) {
    worker.in_outage = false;
    ++worker.child.connection->relaunches;
    worker.child.connection->broken = false;
    set_down(worker, "");
}

void WorkerSupervisor::schedule_next_attempt(Supervised& worker) {
    if (attached(worker)) return;  // looked for again at the next poll
    set_down(worker, who(worker) + " is down (" + worker.why + "; " +
                         std::to_string(worker.attempts) + " relaunch attempts failed so far)");
    worker.next_attempt = std::chrono::steady_clock::now() + worker.backoff;
    worker.backoff = std::min(worker.backoff * 2, policy_.max_backoff);
}

bool WorkerSupervisor::try_relaunch(Supervised& worker) {
    const int attempt = ++worker.attempts;
    const auto start = std::chrono::steady_clock::now();
    try {
        start_process(worker);
        await_worker_ready(
            transport_, worker.child.connection->rank, who(worker), policy_.ready_timeout,
            [&] { return process_ended(worker); }, [this] { return stopping(); });
    } catch (const std::runtime_error& e) {
        std::fprintf(stderr, "matrixserve: relaunch %d failed: %s\n", attempt, e.what());
        kill_process(worker);
        return false;
    }
    std::fprintf(stderr, "matrixserve: %s is back (pid %d, relaunched in %.2f s)\n",
                 who(worker).c_str(), int(worker.pid), seconds_since(start));
    return true;
}

// An attached worker is not ours to start: a person restarts it. Each poll looks briefly for
// its ready message.
bool WorkerSupervisor::try_reconnect(Supervised& worker) {
    try {
        await_worker_ready(
            transport_, worker.child.connection->rank, who(worker), policy_.poll,
            [] { return std::nullopt; }, [this] { return stopping(); });
    } catch (const std::runtime_error&) {
        return false;  // not yet
    }
    std::fprintf(stderr, "matrixserve: %s is back\n", who(worker).c_str());
    return true;
}

// A reply the dead process had sent but nobody took, or half a message it was writing, must not
// be taken for the answer of the new process. An attached worker's ready message is kept: it can
// only come from a new process (the old one's was taken when it joined), which may already run.
void WorkerSupervisor::discard_stale_messages(Supervised& worker) {
    WorkerConnection& connection = *worker.child.connection;
    std::lock_guard lock(connection.mutex);  // waits for a request in flight to fail
    connection.broken = true;
    std::vector<transport::Tag> tags;
    if (!attached(worker)) tags.push_back(kWorkerReadyTag);
    for (int m = 0; m < model::kMaxMicroBatches; ++m) tags.push_back(unit_reply_tag(uint32_t(m)));
    // The first wait lets whatever is still in transit arrive, whatever its tag; the other tags
    // then only take what is already there.
    transport::Milliseconds wait = kStaleDrain;
    for (const auto tag : tags) {
        try {
            for (;;) transport_.recv(connection.rank, tag, wait);
        } catch (const TransportError&) {
            // Nothing (more) from the old process.
        }
        wait = transport::Milliseconds{0};
    }
}

void WorkerSupervisor::set_down(Supervised& worker, std::string why) {
    std::lock_guard lock(mutex_);
    worker.down = std::move(why);
}

bool WorkerSupervisor::stopping() const {
    std::lock_guard lock(mutex_);
    return relaunching_stopped_;
}

void WorkerSupervisor::start_process(Supervised& worker) {
    const auto& argv = worker.child.argv;
    worker.pid = launch_worker_process(argv.front(), {argv.begin() + 1, argv.end()});
}

bool WorkerSupervisor::attached(const Supervised& worker) {
    return worker.child.argv.empty();
}

std::optional<std::string> WorkerSupervisor::process_ended(Supervised& worker) {
    if (attached(worker)) return std::nullopt;  // not ours to watch
    if (worker.pid <= 0) return "was not started";
    auto status = ended_status(worker.pid);
    if (status) worker.pid = 0;  // reaped: the pid may be reused by an unrelated process
    return status;
}

void WorkerSupervisor::kill_process(Supervised& worker) {
    if (worker.pid <= 0) return;
    kill(worker.pid, SIGKILL);
    reap_worker_process(worker.pid, kStopGrace);
    worker.pid = 0;
}

void WorkerSupervisor::reap_all() {
    for (Supervised& worker : workers_)
        if (worker.pid > 0) reap_worker_process(worker.pid, kStopGrace);
}

}  // namespace ms::runtime
