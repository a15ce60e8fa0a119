// The transport contract: one participant (rank r of n) exchanging tagged byte buffers with its
// peers. Every implementation (in-process hub, shared memory, UCX) gives the same guarantees:
//  - messages from one peer with one tag arrive in the order they were sent (FIFO per
//    (peer, tag)); messages of different tags may be received in any order;
//  - a call never hangs: it returns, or throws TransportError when its timeout passes or the
//    peer is gone (closed its transport, or its process died);
//  - a rank may send to itself (the message is handed over locally);
//  - send and recv may be called from several threads at once.
// Callers choose tags so that (sender, receiver, tag) names one logical stream, e.g.
// make_tag(TagKind::activations, step, micro_batch, layer).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace ms::transport {

using Bytes = std::vector<std::byte>;
using Tag = uint64_t;
using Milliseconds = std::chrono::milliseconds;

// What a tag carries; the rest of the tag says which step, micro-batch and layer.
enum class TagKind : uint8_t { activations = 1, expert_dispatch, expert_combine, control };

// Bit layout: kind (8) | micro_batch (8) | layer (16) | step (32).
constexpr Tag make_tag(TagKind kind, uint32_t step, uint32_t micro_batch = 0, uint32_t layer = 0) {
    return (Tag(kind) << 56) | (Tag(micro_batch & 0xff) << 48) | (Tag(layer & 0xffff) << 32) |
           Tag(step);
}

class TransportError : public std::runtime_error {
public:
    enum class Kind {
        timeout,           // the timeout passed before the message (or ring space) was there
        peer_gone,         // the peer closed its transport or its process died
        invalid_argument,  // bad rank, malformed address or peer table
        system,            // an OS call failed (shm_open, mmap, ...)
    };
    TransportError(Kind kind, int peer, const std::string& what)
        : std::runtime_error(what), kind_(kind), peer_(peer) {}
    Kind kind() const { return kind_; }
    int peer() const { return peer_; }  // -1 when no single peer is concerned

private:
    Kind kind_;
    int peer_;
};

// Cumulative counters, for /metrics, of a whole transport or of its traffic with one peer. Times
// are wall time spent inside the calls (recv time includes waiting for the peer).
struct TransportStats {
    uint64_t messages_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t messages_received = 0;
    uint64_t bytes_received = 0;
    uint64_t send_nanoseconds = 0;
    uint64_t recv_nanoseconds = 0;
};

class Transport {
public:
    virtual ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }

    // Copies bytes out before returning (the caller may reuse its buffer).
    void send(int peer, Tag tag, std::span<const std::byte> bytes);
    // Hands the buffer over; the in-process transport passes it to the receiver without copying.
    void send_owned(int peer, Tag tag, Bytes&& bytes);
    // The next message from peer with this tag; throws TransportError after timeout.
    Bytes recv(int peer, Tag tag, Milliseconds timeout);

    TransportStats stats() const;          // with every peer
    TransportStats stats(int peer) const;  // with one peer

protected:
    Transport(int rank, int size);
    // Implementations do the work; the public calls check the peer and keep the counters.
    virtual void do_send(int peer, Tag tag, std::span<const std::byte> bytes) = 0;
    virtual void do_send_owned(int peer, Tag tag, Bytes&& bytes) {
        do_send(peer, tag, std::span<const std::byte>(bytes));
    }
    virtual Bytes do_recv(int peer, Tag tag, Milliseconds timeout) = 0;

private:
    struct Counters;
    void check_peer(int peer) const;
    int rank_;
    int size_;
    std::unique_ptr<Counters[]> counters_;  // per peer
};

// Ranks 0..n-1 and their addresses; all addresses use one scheme:
//   "inproc://HUB"        every rank names the same hub (participants in one process);
//   "shm://NAME"          the POSIX shared-memory segment this rank receives in;
//   "ucx://HOST:PORT"     where this rank's UCX listener accepts connections.
struct PeerTable {
    std::vector<std::string> addresses;  // index = rank
};

struct TransportOptions {
    Milliseconds connect_timeout{10000};      // waiting for a peer to appear
    Milliseconds send_timeout{10000};         // waiting for room to send (a full ring)
    size_t shm_ring_bytes = size_t(4) << 20;  // per directed pair; larger messages stream through
};

// The transport for `rank` of the table; the scheme of the addresses picks the implementation.
std::unique_ptr<Transport> make_transport(const PeerTable& table, int rank,
                                          const TransportOptions& options = {});

// One function per scheme, each defined in its own file; make_transport dispatches to them.
std::unique_ptr<Transport> make_in_process_transport(const PeerTable& table, int rank,
                                                     const TransportOptions& options);
std::unique_ptr<Transport> make_shared_memory_transport(const PeerTable& table, int rank,
                                                        const TransportOptions& options);
std::unique_ptr<Transport> make_ucx_transport(const PeerTable& table, int rank,
                                              const TransportOptions& options);

}  // namespace ms::transport
