// In-process transport: the ranks of one hub are threads of one process; a message is a buffer
// moved from the sender's hands into the receiver's mailbox (no copy with send_owned).
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "transport/mailbox.h"
#include "transport/transport.h"

namespace ms::transport {
namespace {

using Clock = std::chrono::steady_clock;

class Hub {
public:
    explicit Hub(int size) : inboxes_(size), state_(size, RankState::not_joined) {}

    int size() const { return int(inboxes_.size()); }
    Mailbox& inbox(int rank) { return inboxes_[rank]; }

    void join(int rank) {
        std::lock_guard lock(mutex_);
        if (state_[rank] == RankState::joined)
            throw TransportError(
                TransportError::Kind::invalid_argument, rank,
                "inproc transport: rank " + std::to_string(rank) + " has already joined this hub");
        state_[rank] = RankState::joined;
    }

    // A leaving rank's unread messages are dropped and everyone waiting on it wakes up.
    void leave(int rank) {
        {
            std::lock_guard lock(mutex_);
            state_[rank] = RankState::left;
        }
        inboxes_[rank].drop_all();
        for (Mailbox& inbox : inboxes_) inbox.wake_all();
    }

    bool has_left(int rank) {
        std::lock_guard lock(mutex_);
        return state_[rank] == RankState::left;
    }

private:
    enum class RankState { not_joined, joined, left };
    std::mutex mutex_;
    std::vector<Mailbox> inboxes_;
    std::vector<RankState> state_;
};

// Hubs by name; a hub lives while one of its transports does.
std::shared_ptr<Hub> find_or_create_hub(const std::string& name, int size) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::weak_ptr<Hub>> hubs;
    std::lock_guard lock(mutex);
    std::shared_ptr<Hub> hub = hubs[name].lock();
    if (!hub) {
        hub = std::make_shared<Hub>(size);
        hubs[name] = hub;
    }
    if (hub->size() != size)
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "inproc transport: hub '" + name + "' has " +
                                 std::to_string(hub->size()) + " ranks, not " +
                                 std::to_string(size));
    return hub;
}

class InProcessTransport final : public Transport {
public:
    InProcessTransport(std::shared_ptr<Hub> hub, int rank)
        : Transport(rank, hub->size()), hub_(std::move(hub)) {
        hub_->join(rank);
    }
    ~InProcessTransport() override { hub_->leave(rank()); }

protected:
    void do_send(int peer, Tag tag, std::span<const std::byte> bytes) override {
        do_send_owned(peer, tag, Bytes(bytes.begin(), bytes.end()));
    }

    void do_send_owned(int peer, Tag tag, Bytes&& bytes) override {
        if (hub_->has_left(peer))
            throw TransportError(TransportError::Kind::peer_gone, peer,
                                 "inproc transport: peer " + std::to_string(peer) + " has left");
        hub_->inbox(peer).put(rank(), tag, std::move(bytes));
    }

    Bytes do_recv(int peer, Tag tag, Milliseconds timeout) override {
        auto message = hub_->inbox(rank()).wait_take(peer, tag, Clock::now() + timeout,
                                                     [&] { return hub_->has_left(peer); });
        if (message) return std::move(*message);
        if (hub_->has_left(peer))
            throw TransportError(TransportError::Kind::peer_gone, peer,
                                 "inproc transport: peer " + std::to_string(peer) + " has left");
        throw TransportError(TransportError::Kind::timeout, peer,
                             "inproc transport: no message from peer " + std::to_string(peer) +
                                 " with tag " + std::to_string(tag) + " within " +
                                 std::to_string(timeout.count()) + " ms");
    }

private:
    std::shared_ptr<Hub> hub_;
};

}  // namespace

std::unique_ptr<Transport> make_in_process_transport(const PeerTable& table, int rank,
                                                     const TransportOptions&) {
    const std::string& name = table.addresses.front();
    for (const std::string& address : table.addresses)
        if (address != name)
            throw TransportError(TransportError::Kind::invalid_argument, -1,
                                 "inproc transport: all ranks must name one hub, got '" + address +
                                     "' and '" + name + "'");
    if (rank < 0 || rank >= int(table.addresses.size()))
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "inproc transport: rank " + std::to_string(rank) + " is not in 0.." +
                                 std::to_string(table.addresses.size() - 1));
    return std::make_unique<InProcessTransport>(
        find_or_create_hub(name, int(table.addresses.size())), rank);
}

}  // namespace ms::transport
