#include "model/compute_turn.h"

namespace ms::model {

void ComputeTurn::take() {
    std::unique_lock lock(mutex_);
    if (idle_) {
        idle_ = false;
        const auto idle = std::chrono::nanoseconds(Clock::now() - idle_since_).count();
        idle_sink_.fetch_add(uint64_t(idle), std::memory_order_relaxed);
    }
    const uint64_t ticket = tickets_++;
    next_.wait(lock, [&] { return serving_ == ticket; });
}

void ComputeTurn::give() {
    pass_on(false);
}

void ComputeTurn::lend() {
    pass_on(true);
}

void ComputeTurn::pass_on(bool idle) {
    {
        std::lock_guard lock(mutex_);
        ++serving_;
        // Nobody asked for the turn: the front end sits idle until someone does.
        if (idle && serving_ == tickets_) {
            idle_ = true;
            idle_since_ = Clock::now();
        }
    }
    next_.notify_all();
}

}  // namespace ms::model
