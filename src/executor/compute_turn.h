// The front end's cores, taken in turns by attention data-parallel groups
// (ChainExecutor::set_dp_groups). A group holds the turn while its step computes and lends it out
// while it waits for a unit in another worker, so one group's attention, head and sampling run
// while another group's tokens are in the FFN/MoE workers, and the front end never computes two
// steps at once (its thread budget holds).
//
// Who gets the turn next: a group that will soon send work to a worker (a "feeder": one starting
// a step, or back from a worker with more layers to go) before one that will not (back from its
// last layer, about to run the head), each kind in the order it asked. A long unit (the head)
// yields only to feeders. So one group's head runs while the other's layers keep the workers
// busy, and the groups settle half a step apart instead of reaching their heads together.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include "model/unit.h"

namespace ms::executor {

class ComputeTurn final : public model::FrontEndTurn {
public:
    // Time the turn lay unused while a group waited for another worker (the front end's bubble)
    // is added to `idle_nanoseconds`.
    explicit ComputeTurn(std::atomic<uint64_t>& idle_nanoseconds) : idle_sink_(idle_nanoseconds) {}

    // Waits for the turn (see above for the order) and holds it.
    void take(bool feeds_worker = true);
    // Done computing (the step ended).
    void give();
    // Done computing until another worker answers: until the next take() anywhere, the time
    // counts as idle.
    void lend();
    // Between pieces of a long computation: lets a waiting feeder go first, then takes the turn
    // back (as a feeder when the caller will next send work to a worker).
    void yield(bool feeds_worker) override;
    // Groups waiting for the turn (for tests).
    int waiting() const;

    // Holds the turn for a scope.
    class Held {
    public:
        explicit Held(ComputeTurn* turn) : turn_(turn) {
            if (turn_) turn_->take();
        }
        ~Held() {
            if (turn_) turn_->give();
        }
        Held(const Held&) = delete;
        Held& operator=(const Held&) = delete;

    private:
        ComputeTurn* turn_;
    };

    // Lends the turn for a scope (a wait for another worker) and takes it back after.
    class Lent {
    public:
        Lent(ComputeTurn* turn, bool feeds_worker_after) : turn_(turn), feeds_(feeds_worker_after) {
            if (turn_) turn_->lend();
        }
        ~Lent() {
            if (turn_) turn_->take(feeds_);
        }
        Lent(const Lent&) = delete;
        Lent& operator=(const Lent&) = delete;

    private:
        ComputeTurn* turn_;
        bool feeds_;
    };

private:
    using Clock = std::chrono::steady_clock;
    struct Waiter {
        uint64_t ticket;
        bool feeds_worker;
    };
    void pass_on(bool idle);
    bool feeder_waiting() const;

    mutable std::mutex mutex_;
    std::condition_variable next_;
    std::deque<Waiter> waiting_;
    uint64_t tickets_ = 0;
    uint64_t holder_ = 0;  // the ticket holding the turn, when held
    bool held_ = false;
    bool idle_ = false;  // lent with nobody waiting, since idle_since_
    Clock::time_point idle_since_;
    std::atomic<uint64_t>& idle_sink_;
};

}  // namespace ms::executor
