// The front end's cores, taken in turns by attention data-parallel groups (Model::set_dp_groups).
// A group holds the turn while its step computes and lends it out while it waits for a unit in
// another worker, so one group's attention, head and sampling run while another group's tokens
// are in the FFN/MoE workers, and the front end never computes two steps at once (its thread
// budget holds). Turns are granted in the order they were asked for, so no group starves.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ms::model {

class ComputeTurn {
public:
    // Time the turn lay unused while a group waited for another worker (the front end's bubble)
    // is added to `idle_nanoseconds`.
    explicit ComputeTurn(std::atomic<uint64_t>& idle_nanoseconds) : idle_sink_(idle_nanoseconds) {}

    // Waits until every earlier asker has had its turn, then holds it.
    void take();
    // Done computing (the step ended).
    void give();
    // Done computing until another worker answers: until the next take() anywhere, the time
    // counts as idle.
    void lend();

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
        explicit Lent(ComputeTurn* turn) : turn_(turn) {
            if (turn_) turn_->lend();
        }
        ~Lent() {
            if (turn_) turn_->take();
        }
        Lent(const Lent&) = delete;
        Lent& operator=(const Lent&) = delete;

    private:
        ComputeTurn* turn_;
    };

private:
    using Clock = std::chrono::steady_clock;
    void pass_on(bool idle);

    std::mutex mutex_;
    std::condition_variable next_;
    uint64_t tickets_ = 0;  // handed out
    uint64_t serving_ = 0;  // the ticket holding the turn
    bool idle_ = false;     // lent with nobody waiting, since idle_since_
    Clock::time_point idle_since_;
    std::atomic<uint64_t>& idle_sink_;
};

}  // namespace ms::model
