// The compute turn of DP groups: one holder at a time, feeders (groups about to send work to a
// worker) before the others, a long unit yields only to feeders, and lent time nobody used is
// counted as the front end's bubble.
#include "executor/compute_turn.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ms::executor {
namespace {

using namespace std::chrono_literals;

class TurnTest : public ::testing::Test {
protected:
    // Starts a thread that takes the turn, records `name` and gives the turn back; returns once
    // the thread is waiting.
    void queue(const std::string& name, bool feeds_worker) {
        const int before = turn_.waiting();
        threads_.emplace_back([this, name, feeds_worker] {
            turn_.take(feeds_worker);
            record(name);
            turn_.give();
        });
        while (turn_.waiting() == before) std::this_thread::sleep_for(1ms);
    }
    void record(const std::string& name) {
        std::lock_guard lock(mutex_);
        order_.push_back(name);
    }
    std::vector<std::string> finish() {
        for (auto& t : threads_) t.join();
        return order_;
    }

    std::atomic<uint64_t> idle_{0};
    ComputeTurn turn_{idle_};
    std::mutex mutex_;
    std::vector<std::string> order_;
    std::vector<std::thread> threads_;
};

TEST_F(TurnTest, FeedersGoFirstThenTheRestInTheOrderTheyAsked) {
    turn_.take();
    queue("head 1", false);
    queue("feeder 1", true);
    queue("head 2", false);
    queue("feeder 2", true);
    turn_.give();
    EXPECT_EQ(finish(), (std::vector<std::string>{"feeder 1", "feeder 2", "head 1", "head 2"}));
}

TEST_F(TurnTest, ALongUnitYieldsOnlyToFeeders) {
    turn_.take();
    queue("head", false);
    turn_.yield(false);  // nobody to feed a worker: keeps the turn
    record("still holding");
    queue("feeder", true);
    turn_.yield(false);  // the feeder goes first
    record("back");
    turn_.give();
    // The holder took its turn back behind the head that was already waiting.
    EXPECT_EQ(finish(), (std::vector<std::string>{"still holding", "feeder", "head", "back"}));
}

TEST_F(TurnTest, LentTimeNobodyUsesIsIdle) {
    turn_.take();
    turn_.lend();
    std::this_thread::sleep_for(20ms);
    turn_.take();
    EXPECT_GE(idle_.load(), 20'000'000u);
    const uint64_t after_wait = idle_.load();
    queue("other group", true);
    turn_.lend();  // another group takes it at once: no idle time
    turn_.take();
    turn_.give();
    finish();
    EXPECT_LT(idle_.load() - after_wait, 5'000'000u);
}

}  // namespace
}  // namespace ms::executor
