#include "executor/compute_turn.h"

#include <algorithm>

namespace ms::executor {

void ComputeTurn::take(bool feeds_worker) {
    std::unique_lock lock(mutex_);
    if (idle_) {
        idle_ = false;
        const auto idle = std::chrono::nanoseconds(Clock::now() - idle_since_).count();
        idle_sink_.fetch_add(uint64_t(idle), std::memory_order_relaxed);
    }
    const uint64_t ticket = tickets_++;
    if (!held_) {
        held_ = true;
        holder_ = ticket;
        return;
    }
    waiting_.push_back({ticket, feeds_worker});
    next_.wait(lock, [&] { return held_ && holder_ == ticket; });
}

void ComputeTurn::give() {
    pass_on(false);
}

void ComputeTurn::lend() {
    pass_on(true);
}

void ComputeTurn::yield(bool feeds_worker) {
    {
        std::lock_guard lock(mutex_);
        if (!feeder_waiting()) return;
    }
    give();
    take(feeds_worker);
}

int ComputeTurn::waiting() const {
    std::lock_guard lock(mutex_);
    return int(waiting_.size());
}

bool ComputeTurn::feeder_waiting() const {
    return std::any_of(waiting_.begin(), waiting_.end(),
                       [](const Waiter& w) { return w.feeds_worker; });
}

void ComputeTurn::pass_on(bool idle) {
    {
        std::lock_guard lock(mutex_);
        if (waiting_.empty()) {
            held_ = false;
            // Nobody asked for the turn: the front end sits idle until someone does.
            if (idle) {
                idle_ = true;
                idle_since_ = Clock::now();
            }
            return;
        }
        auto next = std::find_if(waiting_.begin(), waiting_.end(),
                                 [](const Waiter& w) { return w.feeds_worker; });
        if (next == waiting_.end()) next = waiting_.begin();
        holder_ = next->ticket;
        waiting_.erase(next);
    }
    next_.notify_all();
}

}  // namespace ms::executor
