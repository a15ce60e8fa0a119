// A single-producer single-consumer byte ring in shared memory, one per directed pair of ranks.
// Positions only grow (byte offset = position % capacity); the writer owns write_pos, the reader
// read_pos. Each side bumps a 32-bit sequence after moving its position and wakes the other
// through a futex on it, so a waiter sleeps until there is news or its time slice ends.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "transport/process_identity.h"

namespace ms::transport {

enum class WriterState : uint32_t { none = 0, attached = 1, closed = 2 };

struct alignas(64) RingControl {
    std::atomic<uint64_t> write_pos{0};
    std::atomic<uint32_t> written_seq{0};  // futex word the reader sleeps on
    std::atomic<uint32_t> writer_state{uint32_t(WriterState::none)};
    ProcessIdentity writer;  // set before writer_state becomes attached
    alignas(64) std::atomic<uint64_t> read_pos{0};
    std::atomic<uint32_t> read_seq{0};  // futex word the writer sleeps on
};
static_assert(std::atomic<uint32_t>::is_always_lock_free && sizeof(std::atomic<uint32_t>) == 4);

// Sleeps while *word == expected, at most `slice`; returns early when woken.
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected, std::chrono::nanoseconds slice);
void futex_wake_all(std::atomic<uint32_t>& word);
// Polls *word for at most `budget` while it equals `expected`; true when it changed. A hand-off
// between busy processes is often microseconds away, and waking from a futex costs ~70 us.
bool spin_while_equal(const std::atomic<uint32_t>& word, uint32_t expected,
                      std::chrono::nanoseconds budget);

class RingView {
public:
    RingView(RingControl* control, std::byte* data, uint64_t capacity)
        : control_(control), data_(data), capacity_(capacity) {}

    RingControl& control() const { return *control_; }
    // Writer side: copies as much of `bytes` as fits now; returns how much (0 when full).
    size_t write_some(std::span<const std::byte> bytes);
    // Reader side: copies up to out.size() available bytes; returns how much.
    size_t read_some(std::span<std::byte> out);
    // Reader side, when the writer is gone: forgets what it left behind.
    void discard_unread();

private:
    RingControl* control_;
    std::byte* data_;
    uint64_t capacity_;
};

}  // namespace ms::transport
