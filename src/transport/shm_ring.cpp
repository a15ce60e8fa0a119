#include "transport/shm_ring.h"

#include <immintrin.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace ms::transport {

// Not FUTEX_PRIVATE_FLAG: the word is shared between processes.
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected, std::chrono::nanoseconds slice) {
    const auto ns = slice.count();
    timespec timeout{time_t(ns / 1000000000), long(ns % 1000000000)};
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, &timeout, nullptr,
            0);
}

void futex_wake_all(std::atomic<uint32_t>& word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr,
            0);
}

bool spin_while_equal(const std::atomic<uint32_t>& word, uint32_t expected,
                      std::chrono::nanoseconds budget) {
    const auto until = std::chrono::steady_clock::now() + budget;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (word.load(std::memory_order_acquire) != expected) return true;
            _mm_pause();
        }
        if (std::chrono::steady_clock::now() >= until) return false;
    }
}

size_t RingView::write_some(std::span<const std::byte> bytes) {
    const uint64_t write = control_->write_pos.load(std::memory_order_relaxed);
    const uint64_t read = control_->read_pos.load(std::memory_order_acquire);
    const size_t n = size_t(std::min<uint64_t>(bytes.size(), capacity_ - (write - read)));
    if (n == 0) return 0;
    const size_t offset = size_t(write % capacity_);
    const size_t first = std::min(n, size_t(capacity_) - offset);
    std::memcpy(data_ + offset, bytes.data(), first);
    std::memcpy(data_, bytes.data() + first, n - first);
    control_->write_pos.store(write + n, std::memory_order_release);
    control_->written_seq.fetch_add(1, std::memory_order_release);
    futex_wake_all(control_->written_seq);
    return n;
}

size_t RingView::read_some(std::span<std::byte> out) {
    const uint64_t read = control_->read_pos.load(std::memory_order_relaxed);
    const uint64_t write = control_->write_pos.load(std::memory_order_acquire);
    const size_t n = size_t(std::min<uint64_t>(out.size(), write - read));
    if (n == 0) return 0;
    const size_t offset = size_t(read % capacity_);
    const size_t first = std::min(n, size_t(capacity_) - offset);
    std::memcpy(out.data(), data_ + offset, first);
    std::memcpy(out.data() + first, data_, n - first);
    control_->read_pos.store(read + n, std::memory_order_release);
    control_->read_seq.fetch_add(1, std::memory_order_release);
    futex_wake_all(control_->read_seq);
    return n;
}

void RingView::discard_unread() {
    control_->read_pos.store(control_->write_pos.load(std::memory_order_acquire),
                             std::memory_order_release);
    control_->writer_state.store(uint32_t(WriterState::none), std::memory_order_release);
    control_->read_seq.fetch_add(1, std::memory_order_release);
    futex_wake_all(control_->read_seq);
}

}  // namespace ms::transport
