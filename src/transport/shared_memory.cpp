// Shared-memory transport between processes on one host. Each rank owns the segment named by
// its address and receives there, one ring per sender. A message is a frame: tag (u64), payload
// size (u64), payload; frames larger than the ring stream through it. Waiting sides sleep on
// futexes in slices and check between slices that the other process still exists.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "transport/mailbox.h"
#include "transport/shm_segment.h"
#include "transport/transport.h"

namespace ms::transport {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kLivenessSlice{10};
// A waiting side polls this long before it sleeps: it cuts a 64-byte round trip from 17 to 4.5 us
// (transport_bench shm). Longer spins starve a peer that shares the core (see the UCX
// transport's kIdleBeforeSleep).
constexpr std::chrono::microseconds kSpinBeforeSleep{50};

struct FrameHeader {
    uint64_t tag;
    uint64_t size;
};

// A frame being read from a ring, possibly over several calls.
struct PartialFrame {
    std::array<std::byte, sizeof(FrameHeader)> header_bytes{};
    size_t header_got = 0;
    FrameHeader header{};
    Bytes payload;
    size_t payload_got = 0;
};

std::string segment_name(const std::string& address) {
    const std::string body = address.substr(std::string("shm://").size());
    if (body.empty() || body.find('/') != std::string::npos)
        throw TransportError(
            TransportError::Kind::invalid_argument, -1,
            "shm transport: address '" + address + "' needs a name without '/' after shm://");
    return "/" + body;
}

[[noreturn]] void throw_peer_gone(int peer, const std::string& doing) {
    throw TransportError(
        TransportError::Kind::peer_gone, peer,
        "shm transport: peer " + std::to_string(peer) + " is gone (" + doing + ")");
}

[[noreturn]] void throw_timeout(int peer, const std::string& doing, Milliseconds timeout) {
    throw TransportError(TransportError::Kind::timeout, peer,
                         "shm transport: " + doing + " peer " + std::to_string(peer) +
                             " took longer than " + std::to_string(timeout.count()) + " ms");
}

std::chrono::nanoseconds slice_until(Clock::time_point deadline) {
    return std::clamp<std::chrono::nanoseconds>(deadline - Clock::now(),
                                                std::chrono::nanoseconds(0), kLivenessSlice);
}

class SharedMemoryTransport final : public Transport {
public:
    SharedMemoryTransport(const PeerTable& table, int rank, const TransportOptions& options)
        : Transport(rank, int(table.addresses.size())),
          options_(options),
          outbound_(table.addresses.size()),
          inbound_(table.addresses.size()) {
        for (const std::string& address : table.addresses) names_.push_back(segment_name(address));
        own_.emplace(Segment::create(names_[rank], uint32_t(size()), options.shm_ring_bytes));
    }

    ~SharedMemoryTransport() override {
        for (Outbound& link : outbound_) {
            std::lock_guard lock(link.mutex);
            if (link.segment) close_ring(link.segment->ring(rank()));
        }
        own_->header().closed.store(1, std::memory_order_release);
        for (int sender = 0; sender < size(); ++sender) {
            RingControl& control = own_->ring(sender).control();
            control.read_seq.fetch_add(1, std::memory_order_release);
            futex_wake_all(control.read_seq);
        }
        own_->unlink();
    }

protected:
    void do_send(int peer, Tag tag, std::span<const std::byte> bytes) override {
        if (peer == rank()) return mailbox_.put(peer, tag, Bytes(bytes.begin(), bytes.end()));
        Outbound& link = outbound_[peer];
        std::lock_guard lock(link.mutex);
        const auto deadline = Clock::now() + options_.send_timeout;
        connect(link, peer, Clock::now() + options_.connect_timeout);
        const FrameHeader header{tag, bytes.size()};
        try {
            write_all(link, peer, std::as_bytes(std::span(&header, 1)), deadline);
            write_all(link, peer, bytes, deadline);
        } catch (const TransportError& error) {
            if (error.kind() == TransportError::Kind::peer_gone) link.segment.reset();
            throw;
        }
    }

    Bytes do_recv(int peer, Tag tag, Milliseconds timeout) override {
        const auto deadline = Clock::now() + timeout;
        if (peer == rank()) {
            if (auto message = mailbox_.wait_take(peer, tag, deadline, [] { return false; }))
                return std::move(*message);
            throw_timeout(peer, "receiving from", timeout);
        }
        RingView ring = own_->ring(peer);
        const uint64_t writer = inbound_[peer].forgotten.load(std::memory_order_acquire);
        // Reading /proc costs tens of microseconds: the writer process is looked up once per
        // liveness slice, a clean close is seen at once.
        auto next_process_check = Clock::now() + kLivenessSlice;
        for (;;) {
            const uint32_t seen = ring.control().written_seq.load(std::memory_order_acquire);
            drain(peer, ring);
            if (auto message = mailbox_.take(peer, tag)) return std::move(*message);
            const bool check_process = Clock::now() >= next_process_check;
            if (check_process) next_process_check = Clock::now() + kLivenessSlice;
            // Another thread found the writer gone and forgot it: its ring now waits for the
            // next writer, which will not answer this receive.
            if (inbound_[peer].forgotten.load(std::memory_order_acquire) != writer)
                throw_peer_gone(peer, "while receiving");
            if (writer_gone(ring.control(), check_process)) {
                // It may have finished writing after the drain above and before leaving.
                drain(peer, ring);
                if (auto message = mailbox_.take(peer, tag)) return std::move(*message);
                forget_writer(peer, ring);
                throw_peer_gone(peer, "while receiving");
            }
            if (Clock::now() >= deadline) throw_timeout(peer, "receiving from", timeout);
            if (!spin_while_equal(ring.control().written_seq, seen, kSpinBeforeSleep))
                futex_wait(ring.control().written_seq, seen, slice_until(deadline));
        }
    }

private:
    struct Outbound {
        std::mutex mutex;
        std::optional<Segment> segment;  // the peer's, mapped on first send
        Clock::time_point checked;       // when the peer was last seen alive
    };
    struct Inbound {
        std::mutex mutex;
        PartialFrame frame;
        // Writers forgotten so far: a receive that began under an earlier one waits in vain.
        std::atomic<uint64_t> forgotten{0};
    };

    // Maps the peer's segment and attaches to our ring there. A peer found gone is reported
    // once, unless a replacement already runs (a restarted worker): that one is reached at once.
    // Otherwise the next send waits for the replacement. Whether the owner process still runs is
    // checked once per liveness slice, not per message.
    void connect(Outbound& link, int peer, Clock::time_point deadline) {
        if (link.segment && !peer_still_there(link)) {
            link.segment.reset();
            if (!open_peer(link, peer)) throw_peer_gone(peer, "before sending");
        }
        while (!open_peer(link, peer)) {
            if (Clock::now() >= deadline)
                throw_timeout(peer, "waiting for shm://" + names_[peer].substr(1) + " of",
                              options_.connect_timeout);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        RingControl& control = link.segment->ring(rank()).control();
        if (control.writer_state.load(std::memory_order_acquire) !=
                uint32_t(WriterState::attached) ||
            control.writer.pid != self_.pid) {
            control.writer = self_;
            control.writer_state.store(uint32_t(WriterState::attached), std::memory_order_release);
        }
    }

    // True once the link maps a live segment of the peer; a newly mapped one may follow a dead
    // incarnation of the peer whose leftovers in our ring are stale.
    bool open_peer(Outbound& link, int peer) {
        if (link.segment) return true;
        link.segment = Segment::try_open(names_[peer], uint32_t(size()));
        link.checked = Clock::now();
        if (!link.segment) return false;
        forget_previous_incarnation(peer);
        return true;
    }

    static bool peer_still_there(Outbound& link) {
        if (link.segment->header().closed.load(std::memory_order_acquire) != 0) return false;
        if (Clock::now() - link.checked < kLivenessSlice) return true;
        link.checked = Clock::now();
        return link.segment->owner_present();
    }

    void write_all(Outbound& link, int peer, std::span<const std::byte> bytes,
                   Clock::time_point deadline) {
        RingView ring = link.segment->ring(rank());
        while (!bytes.empty()) {
            const uint32_t seen = ring.control().read_seq.load(std::memory_order_acquire);
            bytes = bytes.subspan(ring.write_some(bytes));
            if (bytes.empty()) break;
            if (!link.segment->owner_present()) throw_peer_gone(peer, "while sending");
            if (Clock::now() >= deadline) throw_timeout(peer, "sending to", options_.send_timeout);
            if (!spin_while_equal(ring.control().read_seq, seen, kSpinBeforeSleep))
                futex_wait(ring.control().read_seq, seen, slice_until(deadline));
        }
    }

    // Moves every complete frame that has arrived from `peer` into the mailbox.
    void drain(int peer, RingView ring) {
        Inbound& inbound = inbound_[peer];
        std::lock_guard lock(inbound.mutex);
        PartialFrame& frame = inbound.frame;
        for (;;) {
            if (frame.header_got < sizeof(FrameHeader)) {
                frame.header_got +=
                    ring.read_some(std::span(frame.header_bytes).subspan(frame.header_got));
                if (frame.header_got < sizeof(FrameHeader)) return;
                std::memcpy(&frame.header, frame.header_bytes.data(), sizeof(FrameHeader));
                frame.payload.resize(frame.header.size);
            }
            frame.payload_got +=
                ring.read_some(std::span(frame.payload).subspan(frame.payload_got));
            if (frame.payload_got < frame.payload.size()) return;
            mailbox_.put(peer, frame.header.tag, std::move(frame.payload));
            frame = PartialFrame{};
        }
    }

    static bool writer_gone(const RingControl& control, bool check_process = true) {
        const auto state = WriterState(control.writer_state.load(std::memory_order_acquire));
        return state == WriterState::closed ||
               (check_process && state == WriterState::attached && !control.writer.alive());
    }

    // The peer runs again: whatever its previous process left in our ring is stale.
    void forget_previous_incarnation(int peer) {
        RingView ring = own_->ring(peer);
        if (writer_gone(ring.control())) forget_writer(peer, ring);
    }

    // The writer died or closed: what it left half-written can never complete.
    void forget_writer(int peer, RingView ring) {
        {
            std::lock_guard lock(inbound_[peer].mutex);
            inbound_[peer].frame = PartialFrame{};
            ring.discard_unread();
            inbound_[peer].forgotten.fetch_add(1, std::memory_order_release);
        }
        ring.control().written_seq.fetch_add(1, std::memory_order_release);
        futex_wake_all(ring.control().written_seq);  // receives waiting on the old writer
    }

    static void close_ring(RingView ring) {
        ring.control().writer_state.store(uint32_t(WriterState::closed), std::memory_order_release);
        ring.control().written_seq.fetch_add(1, std::memory_order_release);
        futex_wake_all(ring.control().written_seq);
    }

    TransportOptions options_;
    ProcessIdentity self_ = ProcessIdentity::of_self();
    std::vector<Outbound> outbound_;
    std::vector<Inbound> inbound_;
    std::vector<std::string> names_;
    std::optional<Segment> own_;
    Mailbox mailbox_;
};

}  // namespace

std::unique_ptr<Transport> make_shared_memory_transport(const PeerTable& table, int rank,
                                                        const TransportOptions& options) {
    return std::make_unique<SharedMemoryTransport>(table, rank, options);
}

}  // namespace ms::transport
