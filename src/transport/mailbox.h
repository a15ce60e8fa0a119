// Received messages waiting to be taken, queued per (source rank, tag) so that each stream
// stays FIFO while streams of other tags pass it. Internal to the transports.
#pragma once
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "transport/transport.h"

namespace ms::transport {

class Mailbox {
public:
    void put(int source, Tag tag, Bytes&& message) {
        {
            std::lock_guard lock(mutex_);
            queues_[{source, tag}].push_back(std::move(message));
        }
        arrived_.notify_all();
    }

    std::optional<Bytes> take(int source, Tag tag) {
        std::lock_guard lock(mutex_);
        return take_locked(source, tag);
    }

    // Waits for a message until the deadline; gives up early (nullopt) once `gone` says the
    // source will send nothing more. Whoever makes `gone` true must call wake_all().
    template <typename Gone>
    std::optional<Bytes> wait_take(int source, Tag tag,
                                   std::chrono::steady_clock::time_point deadline, Gone gone) {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (auto message = take_locked(source, tag)) return message;
            if (gone()) return std::nullopt;
            if (arrived_.wait_until(lock, deadline) == std::cv_status::timeout)
                return take_locked(source, tag);
        }
    }

    void wake_all() {
        { std::lock_guard lock(mutex_); }
        arrived_.notify_all();
    }

    void drop_all() {
        std::lock_guard lock(mutex_);
        queues_.clear();
    }

private:
    std::optional<Bytes> take_locked(int source, Tag tag) {
        auto it = queues_.find({source, tag});
        if (it == queues_.end()) return std::nullopt;
        Bytes message = std::move(it->second.front());
        it->second.pop_front();
        if (it->second.empty()) queues_.erase(it);
        return message;
    }

    std::mutex mutex_;
    std::condition_variable arrived_;
    std::map<std::pair<int, Tag>, std::deque<Bytes>> queues_;
};

}  // namespace ms::transport
