#include "transport/ucx_transport.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <ucp/api/ucp.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "transport/transport.h"

namespace ms::transport {
namespace {

using Clock = std::chrono::steady_clock;
using Kind = TransportError::Kind;

// Active message ids. A hello goes out on every new endpoint: its completion proves the peer
// accepted the connection, which tells "peer died" (fail at once) from "peer not up yet" (retry).
constexpr unsigned kDataMessage = 1;
constexpr unsigned kHello = 2;
constexpr auto kReconnectBackoff = std::chrono::milliseconds(50);
// A recv spins until the worker has been idle this long, then naps on its event fd, also while
// a large message streams in. Spinning longer starves the peer process when cores are shared
// (on the 2-core machine: 12 ms instead of 3.4 ms per 1 MiB round trip); naps stay short
// because some TCP progress (a socket becoming writable mid-transfer) raises no event.
constexpr auto kIdleBeforeSleep = std::chrono::microseconds(50);
constexpr auto kLongestSleep = std::chrono::microseconds(200);
// The flush at close completes when the peer progresses; a peer that does not is not waited for
// longer than this.
constexpr auto kCloseGrace = std::chrono::milliseconds(200);

struct WireHeader {
    int32_t source;
    uint32_t reserved;
    uint64_t tag;
};

[[noreturn]] void fail(Kind kind, int peer, const std::string& what) {
    throw TransportError(kind, peer, "ucx transport: " + what);
}

void check(ucs_status_t status, const char* what) {
    if (status != UCS_OK)
        fail(Kind::system, -1, std::string(what) + ": " + ucs_status_string(status));
}

sockaddr_in socket_address(const UcxAddress& address) {
    sockaddr_in socket{};
    socket.sin_family = AF_INET;
    socket.sin_port = htons(address.port);
    inet_pton(AF_INET, address.host.c_str(), &socket.sin_addr);  // checked by parse_ucx_address
    return socket;
}

// UCX 1.13 accepts a connection only when the address it arrived on is an interface's address
// (127.0.0.2 is routed by `lo` but is not its address). Its TCP lanes listen on the interface's
// first address while peers dial the address they reached the listener on, so a secondary
// address (an alias added to `lo`, also in a private network namespace) gets every transfer
// refused. Refuse such a listener up front instead of failing each peer after its timeout; on
// one host, ranks share 127.0.0.1 with different ports.
struct InterfaceAddress {
    std::string device;
    in_addr_t first = 0;  // the device's first IPv4 address
};

in_addr_t ipv4_of(const ifaddrs* entry) {
    return entry->ifa_addr != nullptr && entry->ifa_addr->sa_family == AF_INET
               ? reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr
               : in_addr_t(0);
}

// The interface holding `wanted`; nullopt when none does. When the interfaces cannot be listed,
// `wanted` counts as a first address (UCX will decide).
std::optional<InterfaceAddress> interface_holding(in_addr_t wanted) {
    ifaddrs* interfaces = nullptr;
    if (getifaddrs(&interfaces) != 0) return InterfaceAddress{"", wanted};
    std::optional<InterfaceAddress> found;
    for (const ifaddrs* i = interfaces; i != nullptr && !found; i = i->ifa_next)
        if (ipv4_of(i) == wanted) found = InterfaceAddress{i->ifa_name};
    for (const ifaddrs* i = interfaces; found && i != nullptr && !found->first; i = i->ifa_next)
        if (found->device == i->ifa_name) found->first = ipv4_of(i);
    freeifaddrs(interfaces);
    return found;
}

void require_interface_address(const UcxAddress& address) {
    const in_addr_t wanted = socket_address(address).sin_addr.s_addr;
    if (wanted == htonl(INADDR_ANY)) return;
    const std::string on_one_host = " (on one host use 127.0.0.1 and one port per rank)";
    const auto holder = interface_holding(wanted);
    if (!holder)
        fail(Kind::invalid_argument, -1,
             address.host +
                 " is not the address of a network interface, so UCX would drop every "
                 "connection to it" +
                 on_one_host);
    if (holder->first != wanted) {
        char first[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &holder->first, first, sizeof first);
        fail(Kind::invalid_argument, -1,
             address.host + " is a secondary address of " + holder->device + " (its first is " +
                 first +
                 "): UCX's TCP lanes listen on the first address, so every transfer to this "
                 "rank would be refused" +
                 on_one_host);
    }
}

// UCS_INPROGRESS while `request` runs; otherwise its final status, and the request is freed.
ucs_status_t settle(void*& request) {
    if (request == nullptr) return UCS_OK;
    ucs_status_t status = ucp_request_check_status(request);
    if (status == UCS_INPROGRESS) return status;
    ucp_request_free(request);
    request = nullptr;
    return status;
}

ucs_status_t posted(ucs_status_ptr_t result, void*& request) {
    if (UCS_PTR_IS_ERR(result)) return UCS_PTR_STATUS(result);
    request = result;
    return settle(request);
}

// Lets UCX free `request` whenever it completes; we stop watching it.
void abandon(void*& request) {
    if (request != nullptr) ucp_request_free(request);
    request = nullptr;
}

ucs_status_ptr_t close_endpoint(ucp_ep_h ep, bool force) {
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
    return ucp_ep_close_nbx(ep, &param);
}

// One received (or still arriving) message. A large one comes by rendezvous: its descriptor is
// kept until the receive into `bytes` is started, outside the UCX callback.
struct Arrival {
    Bytes bytes;
    void* rendezvous = nullptr;
    void* receive = nullptr;
    ucs_status_t status = UCS_INPROGRESS;
};

// Our outgoing endpoint to one peer. The peer's messages come on its own endpoint to our
// listener; this one carries our sends and tells recv when the peer dies.
struct Link {
    ucp_ep_h ep = nullptr;
    void* hello = nullptr;
    bool reached = false;
    ucs_status_t failure = UCS_OK;
    Clock::time_point reconnect_at{};
};

class UcxTransport final : public Transport {
public:
    UcxTransport(const PeerTable& table, int rank, const TransportOptions& options);
    ~UcxTransport() override;

protected:
    void do_send(int peer, Tag tag, std::span<const std::byte> bytes) override;
    Bytes do_recv(int peer, Tag tag, Milliseconds timeout) override;

private:
    void open_worker();
    void register_handlers();
    void listen();
    void connect(int peer);
    void reset(int peer);
    void check_link(int peer);
    void progress();
    void sleep_until_event(Clock::time_point deadline, std::unique_lock<std::mutex>& lock);
    static void yield(std::unique_lock<std::mutex>& lock);
    void start_rendezvous_receives();
    void close_failed_inbound();
    std::unique_ptr<Arrival> take(int peer, Tag tag);
    std::string describe(int peer) const;
    void close_all();

    static void on_connection(ucp_conn_request_h request, void* arg);
    static void on_inbound_error(void* arg, ucp_ep_h ep, ucs_status_t status);
    static void on_link_error(void* arg, ucp_ep_h ep, ucs_status_t status);
    static ucs_status_t on_data(void* arg, const void* header, size_t header_length, void* data,
                                size_t length, const ucp_am_recv_param_t* param);
    static ucs_status_t on_hello(void*, const void*, size_t, void*, size_t,
                                 const ucp_am_recv_param_t*) {
        return UCS_OK;
    }

    std::vector<UcxAddress> addresses_;
    TransportOptions options_;
    std::mutex mutex_;  // the worker is single-threaded; every UCX call holds this
    ucp_context_h context_ = nullptr;
    ucp_worker_h worker_ = nullptr;
    ucp_listener_h listener_ = nullptr;
    int wakeup_fd_ = -1;
    Clock::time_point last_event_ = Clock::now();
    std::vector<Link> links_;
    std::vector<ucp_ep_h> inbound_;
    std::vector<ucp_ep_h> failed_inbound_;
    std::map<std::pair<int, Tag>, std::deque<std::unique_ptr<Arrival>>> inbox_;
    std::vector<Arrival*> rendezvous_to_start_;
};

UcxTransport::UcxTransport(const PeerTable& table, int rank, const TransportOptions& options)
    : Transport(rank, int(table.addresses.size())), options_(options), links_(size()) {
    for (const std::string& address : table.addresses)
        addresses_.push_back(parse_ucx_address(address));
    require_interface_address(addresses_[rank]);
    try {
        open_worker();
        register_handlers();
        listen();
    } catch (...) {
        close_all();
        throw;
    }
}

UcxTransport::~UcxTransport() {
    close_all();
}

void UcxTransport::open_worker() {
    // A restarted rank must get its port back while its old connections sit in TIME_WAIT. UCX
    // reads connection-manager options only from the environment (ucp_config_modify rejects it).
    setenv("UCX_TCP_CM_REUSEADDR", "y", /*overwrite=*/0);
    ucp_params_t params{};
    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
    check(ucp_init(&params, nullptr, &context_), "ucp_init");
    ucp_worker_params_t worker_params{};
    worker_params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    worker_params.thread_mode = UCS_THREAD_MODE_SINGLE;
    check(ucp_worker_create(context_, &worker_params, &worker_), "ucp_worker_create");
    check(ucp_worker_get_efd(worker_, &wakeup_fd_), "ucp_worker_get_efd");
}

void UcxTransport::register_handlers() {
    for (auto [id, callback] : {std::pair{kDataMessage, &on_data}, std::pair{kHello, &on_hello}}) {
        ucp_am_handler_param_t param{};
        param.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                           UCP_AM_HANDLER_PARAM_FIELD_ARG | UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
        param.id = id;
        param.flags = UCP_AM_FLAG_WHOLE_MSG;
        param.cb = callback;
        param.arg = this;
        check(ucp_worker_set_am_recv_handler(worker_, &param), "ucp_worker_set_am_recv_handler");
    }
}

void UcxTransport::listen() {
    sockaddr_in address = socket_address(addresses_[rank()]);
    ucp_listener_params_t params{};
    params.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER;
    params.sockaddr.addr = reinterpret_cast<const sockaddr*>(&address);
    params.sockaddr.addrlen = sizeof(address);
    params.conn_handler.cb = &on_connection;
    params.conn_handler.arg = this;
    ucs_status_t status = ucp_listener_create(worker_, &params, &listener_);
    if (status != UCS_OK)
        fail(Kind::system, -1,
             "cannot listen on " + describe(rank()) + ": " + ucs_status_string(status) +
                 " (is the port in use?)");
}

void UcxTransport::on_connection(ucp_conn_request_h request, void* arg) {
    auto* self = static_cast<UcxTransport*>(arg);
    ucp_ep_params_t params{};
    params.field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST | UCP_EP_PARAM_FIELD_ERR_HANDLER |
                        UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
    params.conn_request = request;
    params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    params.err_handler.cb = &on_inbound_error;
    params.err_handler.arg = self;
    ucp_ep_h ep = nullptr;
    if (ucp_ep_create(self->worker_, &params, &ep) == UCS_OK) self->inbound_.push_back(ep);
}

void UcxTransport::on_inbound_error(void* arg, ucp_ep_h ep, ucs_status_t) {
    static_cast<UcxTransport*>(arg)->failed_inbound_.push_back(ep);
}

void UcxTransport::on_link_error(void* arg, ucp_ep_h ep, ucs_status_t status) {
    auto* link = static_cast<Link*>(arg);
    if (link->ep == ep) link->failure = status;  // ignore late reports from a replaced endpoint
}

ucs_status_t UcxTransport::on_data(void* arg, const void* header, size_t header_length, void* data,
                                   size_t length, const ucp_am_recv_param_t* param) {
    auto* self = static_cast<UcxTransport*>(arg);
    WireHeader wire{};
    if (header_length != sizeof(wire)) return UCS_OK;  // not from a peer of ours: dropped
    std::memcpy(&wire, header, sizeof(wire));
    auto arrival = std::make_unique<Arrival>();
    arrival->bytes.resize(length);
    ucs_status_t keep_data = UCS_OK;
    if (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
        arrival->rendezvous = data;
        self->rendezvous_to_start_.push_back(arrival.get());
        keep_data = UCS_INPROGRESS;
    } else {
        if (length > 0) std::memcpy(arrival->bytes.data(), data, length);
        arrival->status = UCS_OK;
    }
    self->inbox_[{wire.source, wire.tag}].push_back(std::move(arrival));
    return keep_data;
}

void UcxTransport::start_rendezvous_receives() {
    for (Arrival* arrival : rendezvous_to_start_) {
        ucp_request_param_t param{};
        void* descriptor = std::exchange(arrival->rendezvous, nullptr);
        arrival->status = posted(ucp_am_recv_data_nbx(worker_, descriptor, arrival->bytes.data(),
                                                      arrival->bytes.size(), &param),
                                 arrival->receive);
    }
    rendezvous_to_start_.clear();
}

void UcxTransport::close_failed_inbound() {
    for (ucp_ep_h ep : failed_inbound_) {
        std::erase(inbound_, ep);
        void* request = nullptr;
        posted(close_endpoint(ep, /*force=*/true), request);
        abandon(request);
    }
    failed_inbound_.clear();
}

void UcxTransport::progress() {
    if (ucp_worker_progress(worker_) > 0) last_event_ = Clock::now();
    start_rendezvous_receives();
    close_failed_inbound();
}

// Lets another thread's call (or another process on a busy core) in between two rounds.
void UcxTransport::yield(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
}

// Spins while there is traffic; once idle for kIdleBeforeSleep, sleeps on the worker's event
// fd without the lock (at most kLongestSleep, so deadlines and reconnects are re-checked).
void UcxTransport::sleep_until_event(Clock::time_point deadline,
                                     std::unique_lock<std::mutex>& lock) {
    if (Clock::now() - last_event_ < kIdleBeforeSleep || ucp_worker_arm(worker_) == UCS_ERR_BUSY) {
        yield(lock);
        return;
    }
    const auto nap =
        std::clamp(std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()),
                   std::chrono::nanoseconds(0), std::chrono::nanoseconds(kLongestSleep));
    const timespec timeout{0, long(nap.count())};
    pollfd wakeup{wakeup_fd_, POLLIN, 0};
    lock.unlock();
    ppoll(&wakeup, 1, &timeout, nullptr);
    lock.lock();
}

void UcxTransport::connect(int peer) {
    Link& link = links_[peer];
    link = Link{};
    sockaddr_in address = socket_address(addresses_[peer]);
    ucp_ep_params_t params{};
    params.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR |
                        UCP_EP_PARAM_FIELD_ERR_HANDLER | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
    params.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
    params.sockaddr.addr = reinterpret_cast<const sockaddr*>(&address);
    params.sockaddr.addrlen = sizeof(address);
    params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    params.err_handler.cb = &on_link_error;
    params.err_handler.arg = &link;
    ucs_status_t status = ucp_ep_create(worker_, &params, &link.ep);
    if (status != UCS_OK)
        fail(Kind::system, peer,
             "cannot connect to " + describe(peer) + ": " + ucs_status_string(status));
    ucp_request_param_t hello{};
    link.reached = posted(ucp_am_send_nbx(link.ep, kHello, nullptr, 0, nullptr, 0, &hello),
                          link.hello) == UCS_OK;
}

void UcxTransport::reset(int peer) {
    Link& link = links_[peer];
    abandon(link.hello);
    void* request = nullptr;
    posted(close_endpoint(link.ep, /*force=*/true), request);
    abandon(request);
    link = Link{};
    link.reconnect_at = Clock::now() + kReconnectBackoff;
}

// Connects when there is no endpoint; throws peer_gone when a peer we had reached failed; resets
// an endpoint that never reached its peer so that it is tried again after a backoff.
void UcxTransport::check_link(int peer) {
    Link& link = links_[peer];
    if (link.ep == nullptr) {
        if (Clock::now() >= link.reconnect_at) connect(peer);
        return;
    }
    if (link.hello != nullptr && settle(link.hello) == UCS_OK) link.reached = true;
    if (link.failure == UCS_OK) return;
    const bool was_reached = link.reached;
    const ucs_status_t failure = link.failure;
    reset(peer);
    if (was_reached)
        fail(Kind::peer_gone, peer,
             "peer " + describe(peer) + " failed: " + ucs_status_string(failure));
}

std::unique_ptr<Arrival> UcxTransport::take(int peer, Tag tag) {
    auto found = inbox_.find({peer, tag});
    if (found == inbox_.end() || found->second.empty()) return nullptr;
    Arrival& head = *found->second.front();
    if (head.receive != nullptr) head.status = settle(head.receive);
    if (head.status == UCS_INPROGRESS) return nullptr;
    auto arrival = std::move(found->second.front());
    found->second.pop_front();
    if (found->second.empty()) inbox_.erase(found);
    if (arrival->status != UCS_OK)
        fail(Kind::peer_gone, peer,
             "message from peer " + describe(peer) + " tag " + std::to_string(tag) +
                 " was cut off: " + ucs_status_string(arrival->status));
    return arrival;
}

std::string UcxTransport::describe(int peer) const {
    return std::to_string(peer) + " (" + addresses_[peer].host + ":" +
           std::to_string(addresses_[peer].port) + ")";
}

void UcxTransport::do_send(int peer, Tag tag, std::span<const std::byte> bytes) {
    std::unique_lock lock(mutex_);
    const WireHeader header{rank(), 0, tag};
    const auto start = Clock::now();
    for (;;) {
        check_link(peer);  // throws if the peer died
        Link& link = links_[peer];
        const auto deadline =
            start + (link.reached ? options_.send_timeout : options_.connect_timeout);
        if (link.ep != nullptr) {
            ucp_request_param_t param{};
            void* request = nullptr;
            ucs_status_t status =
                posted(ucp_am_send_nbx(link.ep, kDataMessage, &header, sizeof(header), bytes.data(),
                                       bytes.size(), &param),
                       request);
            while (status == UCS_INPROGRESS && Clock::now() < deadline) {
                progress();
                status = settle(request);
                // No sleeping on the event fd here: UCX signals no "socket writable" events,
                // and a large send waits on exactly that.
                if (status == UCS_INPROGRESS) yield(lock);
            }
            if (status == UCS_OK) {
                links_[peer].reached = true;
                return;
            }
            if (status == UCS_INPROGRESS) {
                reset(peer);  // fails the request, so UCX lets go of `bytes`
                abandon(request);
                fail(Kind::timeout, peer, "send to peer " + describe(peer) + " timed out");
            }
            check_link(peer);
        }
        if (Clock::now() >= deadline)
            fail(Kind::timeout, peer, "peer " + describe(peer) + " is unreachable");
        progress();
        sleep_until_event(std::min(deadline, links_[peer].reconnect_at), lock);
    }
}

Bytes UcxTransport::do_recv(int peer, Tag tag, Milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto arrival = take(peer, tag)) return std::move(arrival->bytes);
        check_link(peer);  // the outgoing endpoint tells when the peer dies
        if (Clock::now() >= deadline)
            fail(Kind::timeout, peer,
                 "recv from peer " + describe(peer) + " tag " + std::to_string(tag) + " timed out");
        progress();
        sleep_until_event(deadline, lock);
    }
}

void UcxTransport::close_all() {
    if (worker_ != nullptr) {
        for (auto& [key, queue] : inbox_)
            for (auto& arrival : queue) {
                if (arrival->rendezvous != nullptr)
                    ucp_am_data_release(worker_, arrival->rendezvous);
                if (arrival->receive != nullptr) ucp_request_cancel(worker_, arrival->receive);
                abandon(arrival->receive);
            }
        // Flush what we sent, so a peer gets our last messages even if we exit right after;
        // then close without the disconnect handshake, which would wait for the peer.
        std::vector<void*> flushing;
        for (Link& link : links_) {
            abandon(link.hello);
            if (link.ep == nullptr) continue;
            ucp_request_param_t param{};
            void* request = nullptr;
            if (posted(ucp_ep_flush_nbx(link.ep, &param), request) == UCS_INPROGRESS)
                flushing.push_back(request);
        }
        const auto give_up = Clock::now() + kCloseGrace;
        auto running = [](void* request) {
            return ucp_request_check_status(request) == UCS_INPROGRESS;
        };
        while (Clock::now() < give_up && std::any_of(flushing.begin(), flushing.end(), running))
            ucp_worker_progress(worker_);
        for (void*& request : flushing) abandon(request);
        std::vector<ucp_ep_h> endpoints = inbound_;
        for (Link& link : links_)
            if (link.ep != nullptr) endpoints.push_back(link.ep);
        for (ucp_ep_h ep : endpoints) {
            void* request = nullptr;
            posted(close_endpoint(ep, /*force=*/true), request);
            while (settle(request) == UCS_INPROGRESS && Clock::now() < give_up + kCloseGrace)
                ucp_worker_progress(worker_);
            abandon(request);
        }
        if (listener_ != nullptr) ucp_listener_destroy(listener_);
        ucp_worker_destroy(worker_);
    }
    if (context_ != nullptr) ucp_cleanup(context_);
}

}  // namespace

UcxAddress parse_ucx_address(std::string_view address) {
    auto bad = [&](const std::string& why) {
        fail(Kind::invalid_argument, -1,
             "address '" + std::string(address) + "' " + why + " (want ucx://IPV4:PORT)");
    };
    constexpr std::string_view scheme = "ucx://";
    if (!address.starts_with(scheme)) bad("does not start with ucx://");
    const std::string_view rest = address.substr(scheme.size());
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) bad("has no port");
    UcxAddress parsed{std::string(rest.substr(0, colon)), 0};
    in_addr ignored{};
    if (inet_pton(AF_INET, parsed.host.c_str(), &ignored) != 1) bad("has no numeric IPv4 host");
    const std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
        bad("has no port in 1..65535");
    parsed.port = uint16_t(value);
    return parsed;
}

std::unique_ptr<Transport> make_ucx_transport(const PeerTable& table, int rank,
                                              const TransportOptions& options) {
    return std::make_unique<UcxTransport>(table, rank, options);
}

}  // namespace ms::transport
