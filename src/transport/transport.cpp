#include "transport/transport.h"

#include <atomic>
#include <string_view>

namespace ms::transport {

struct Transport::Counters {
    std::atomic<uint64_t> messages_sent{0};
    std::atomic<uint64_t> bytes_sent{0};
    std::atomic<uint64_t> messages_received{0};
    std::atomic<uint64_t> bytes_received{0};
    std::atomic<uint64_t> send_nanoseconds{0};
    std::atomic<uint64_t> recv_nanoseconds{0};
};

namespace {

uint64_t nanoseconds_since(std::chrono::steady_clock::time_point start) {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count());
}

// Adds the call's duration to a counter however the call ends (returns or throws).
class CallTimer {
public:
    explicit CallTimer(std::atomic<uint64_t>& total) : total_(total) {}
    ~CallTimer() { total_ += nanoseconds_since(start_); }

private:
    std::atomic<uint64_t>& total_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

Transport::Transport(int rank, int size) : rank_(rank), size_(size) {
    if (size < 1 || rank < 0 || rank >= size)
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "transport: rank " + std::to_string(rank) + " is not in 0.." +
                                 std::to_string(size - 1));
    counters_ = std::make_unique<Counters[]>(size_t(size));
}

Transport::~Transport() = default;

void Transport::check_peer(int peer) const {
    if (peer < 0 || peer >= size_)
        throw TransportError(TransportError::Kind::invalid_argument, peer,
                             "transport: peer " + std::to_string(peer) + " is not in 0.." +
                                 std::to_string(size_ - 1));
}

void Transport::send(int peer, Tag tag, std::span<const std::byte> bytes) {
    check_peer(peer);
    Counters& counters = counters_[size_t(peer)];
    CallTimer timer(counters.send_nanoseconds);
    do_send(peer, tag, bytes);
    counters.messages_sent++;
    counters.bytes_sent += bytes.size();
}

void Transport::send_owned(int peer, Tag tag, Bytes&& bytes) {
    check_peer(peer);
    Counters& counters = counters_[size_t(peer)];
    CallTimer timer(counters.send_nanoseconds);
    const size_t n = bytes.size();
    do_send_owned(peer, tag, std::move(bytes));
    counters.messages_sent++;
    counters.bytes_sent += n;
}

Bytes Transport::recv(int peer, Tag tag, Milliseconds timeout) {
    check_peer(peer);
    Counters& counters = counters_[size_t(peer)];
    CallTimer timer(counters.recv_nanoseconds);
    Bytes message = do_recv(peer, tag, timeout);
    counters.messages_received++;
    counters.bytes_received += message.size();
    return message;
}

TransportStats Transport::stats() const {
    TransportStats total;
    for (int peer = 0; peer < size_; ++peer) {
        const TransportStats one = stats(peer);
        total.messages_sent += one.messages_sent;
        total.bytes_sent += one.bytes_sent;
        total.messages_received += one.messages_received;
        total.bytes_received += one.bytes_received;
        total.send_nanoseconds += one.send_nanoseconds;
        total.recv_nanoseconds += one.recv_nanoseconds;
    }
    return total;
}

TransportStats Transport::stats(int peer) const {
    check_peer(peer);
    const Counters& c = counters_[size_t(peer)];
    return {c.messages_sent.load(),  c.bytes_sent.load(),       c.messages_received.load(),
            c.bytes_received.load(), c.send_nanoseconds.load(), c.recv_nanoseconds.load()};
}

std::unique_ptr<Transport> make_transport(const PeerTable& table, int rank,
                                          const TransportOptions& options) {
    if (table.addresses.empty())
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "transport: the peer table is empty");
    const std::string_view first = table.addresses.front();
    const auto scheme_end = first.find("://");
    if (scheme_end == std::string_view::npos)
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "transport: address '" + std::string(first) +
                                 "' has no scheme (inproc://, shm:// or ucx://)");
    const std::string_view scheme = first.substr(0, scheme_end + 3);
    for (const std::string& address : table.addresses)
        if (!address.starts_with(scheme))
            throw TransportError(TransportError::Kind::invalid_argument, -1,
                                 "transport: address '" + address + "' does not use " +
                                     std::string(scheme) + " like the first one");
    if (scheme == "inproc://") return make_in_process_transport(table, rank, options);
    if (scheme == "shm://") return make_shared_memory_transport(table, rank, options);
    if (scheme == "ucx://") {
#ifdef MS_HAVE_UCX
        return make_ucx_transport(table, rank, options);
#else
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "transport: this build has no UCX (libucx-dev was not found)");
#endif
    }
    throw TransportError(TransportError::Kind::invalid_argument, -1,
                         "transport: unknown scheme in address '" + std::string(first) + "'");
}

}  // namespace ms::transport
