#include "server/http_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <deque>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/api_error.h"
#include "server/http_parse.h"

namespace ms::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t watch_read_bytes = 4096;
// Bytes of a pipelined next request kept while a reply is in progress; the rest waits in the
// kernel. Leaves room for one more watch read within the read buffer's bound.
constexpr size_t pipelined_limit_bytes = kReadBufferBytes - watch_read_bytes;
constexpr std::chrono::seconds linger_timeout{2};
// Out of file descriptors: accepting again at once would spin, so wait this long.
constexpr std::chrono::milliseconds accept_backoff{100};

// What every connection shares with the server.
struct Shared {
    HttpServerOptions options;
    RequestHandler handler;
    std::atomic<int> replies_in_progress{0};
};

template <class Message>
std::string serialize(const Message& message) {
    std::ostringstream out;
    out << message;
    return out.str();
}

std::string chunk(const std::string& piece) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    return size + piece + "\r\n";
}

bool is_disconnect(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == beast::error::timeout ||
           ec == net::error::operation_aborted;
}

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {}

    void start() {
        beast::error_code ignored;
        stream_.socket().set_option(tcp::no_delay(true), ignored);  // SSE tokens go out at once
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
    }

    net::any_io_executor executor() { return stream_.get_executor(); }
    bool is_current(uint64_t reply) const { return replying_ && reply == reply_id_ && !closed_; }

    void send(HttpResponse response);
    // Answers a request that could not be read whole; the connection is not reused.
    void reply_with_error(const ApiError& error);
    void start_stream(int status, std::string content_type);
    void write(std::string piece);
    void end_stream();
    void set_on_disconnect(std::function<void()> callback) { on_disconnect_ = std::move(callback); }

private:
    void read_header();
    void on_header(beast::error_code ec);
    void read_body();
    void on_body(beast::error_code ec);
    void on_read_error(beast::error_code ec);
    void dispatch_request();
    uint64_t begin_reply();
    void queue(std::string bytes);
    void drop_unsent();
    void write_next();
    void finish_reply();
    void after_reply();
    void watch_peer();
    void on_peer(beast::error_code ec, size_t bytes);
    void peer_gone();
    void linger();
    void close();

    beast::tcp_stream stream_;
    Shared& shared_;
    beast::flat_buffer buffer_{kReadBufferBytes};
    std::optional<http::request_parser<http::string_body>> parser_;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    uint64_t reply_id_ = 0;
    bool replying_ = false;
    bool streaming_ = false;
    bool chunked_ = false;
    bool end_after_writes_ = false;
    bool writing_ = false;
    bool watching_ = false;
    bool closed_ = false;
    std::deque<std::string> out_;
    size_t out_bytes_ = 0;  // queued and not yet written
    std::function<void()> on_disconnect_;
};

// The channel handed to the API layer for one reply; it keeps the session alive until the
// job that answers is done with it, and ignores calls once that reply is over.
class Exchange : public ResponseChannel {
public:
    Exchange(std::shared_ptr<Session> session, uint64_t reply)
        : session_(std::move(session)), executor_(session_->executor()), reply_(reply) {}

    void post(std::function<void()> work) override { net::post(executor_, std::move(work)); }
    void post_at(std::chrono::steady_clock::time_point when, std::function<void()> work) override {
        auto timer = std::make_shared<net::steady_timer>(executor_, when);
        timer->async_wait([timer, work = std::move(work)](beast::error_code) { work(); });
    }
    void send(HttpResponse response) override {
        if (live()) session_->send(std::move(response));
    }
    void start_stream(int status, std::string content_type) override {
        if (live()) session_->start_stream(status, std::move(content_type));
    }
    void write(std::string piece) override {
        if (live()) session_->write(std::move(piece));
    }
    void end_stream() override {
        if (live()) session_->end_stream();
    }
    void on_disconnect(std::function<void()> callback) override {
        if (live()) session_->set_on_disconnect(std::move(callback));
    }

private:
    bool live() const { return session_->is_current(reply_); }

    std::shared_ptr<Session> session_;
    net::any_io_executor executor_;
    uint64_t reply_;
};

void Session::read_header() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimitBytes);
    parser_->body_limit(shared_.options.max_body_bytes);
    stream_.expires_after(shared_.options.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    try {
        check_request_target(parser_->get().target().size());
    } catch (const ApiError& error) {
        return reply_with_error(error);
    }
    if (!beast::iequals(parser_->get()[http::field::expect], "100-continue")) return read_body();
    static const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(go_on),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->read_body();
                     });
}

void Session::read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    stream_.expires_never();
    dispatch_request();
}

void Session::on_read_error(beast::error_code ec) {
    if (is_disconnect(ec)) return close();
    const std::string_view unparsed(static_cast<const char*>(buffer_.data().data()),
                                    buffer_.size());
    reply_with_error(request_read_error(ec, unparsed, shared_.options.max_body_bytes));
}

void Session::dispatch_request() {
    auto& message = parser_->get();
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    HttpRequest request{std::string(message.method_string()), std::string(message.target()),
                        std::string(message[http::field::authorization]),
                        std::move(message.body())};
    beast::error_code ec;
    request.from_loopback = stream_.socket().remote_endpoint(ec).address().is_loopback() && !ec;
    const uint64_t reply = begin_reply();
    watch_peer();
    shared_.handler(std::move(request), std::make_shared<Exchange>(shared_from_this(), reply));
}

uint64_t Session::begin_reply() {
    replying_ = true;
    ++shared_.replies_in_progress;
    return ++reply_id_;
}

// The request could not be read whole, so the connection cannot be reused.
void Session::reply_with_error(const ApiError& error) {
    version_ = 11;
    keep_alive_ = false;
    begin_reply();
    send({error.status(), "application/json", error.to_json(), error.headers()});
}

void Session::send(HttpResponse response) {
    if (streaming_) return;
    http::response<http::string_body> message{static_cast<http::status>(response.status), version_};
    message.set(http::field::server, "matrixserve");
    message.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message.set(name, value);
    message.keep_alive(keep_alive_);
    message.body() = std::move(response.body);
    message.prepare_payload();
    end_after_writes_ = true;
    queue(serialize(message));
}

void Session::start_stream(int status, std::string content_type) {
    if (streaming_) return;
    http::response<http::empty_body> message{static_cast<http::status>(status), version_};
    message.set(http::field::server, "matrixserve");
    message.set(http::field::content_type, content_type);
    message.set(http::field::cache_control, "no-cache");
    chunked_ = version_ >= 11;
    if (!chunked_) keep_alive_ = false;  // HTTP/1.0: the body ends when the connection does
    message.keep_alive(keep_alive_);
    message.chunked(chunked_);
    streaming_ = true;
    queue(serialize(message.base()));
}

void Session::write(std::string piece) {
    if (!streaming_ || end_after_writes_ || piece.empty()) return;
    queue(chunked_ ? chunk(piece) : std::move(piece));
}

void Session::end_stream() {
    if (!streaming_ || end_after_writes_) return;
    end_after_writes_ = true;
    queue(chunked_ ? "0\r\n\r\n" : "");
}

// A stream whose client stops reading would otherwise be buffered here without end: past the
// bound its request is cancelled and the connection closed, as if the client had gone.
void Session::queue(std::string bytes) {
    if (closed_) return;
    out_bytes_ += bytes.size();
    out_.push_back(std::move(bytes));
    if (streaming_ && out_bytes_ > shared_.options.max_buffered_bytes) {
        std::fprintf(stderr,
                     "matrixserve: a client read too slowly (%zu bytes unsent); "
                     "closing its connection\n",
                     out_bytes_);
        return peer_gone();
    }
    if (!writing_) write_next();
}

// Frees what a closed connection will never send; a write in progress keeps its buffer.
void Session::drop_unsent() {
    while (out_.size() > (writing_ ? 1 : 0)) {
        out_bytes_ -= out_.back().size();
        out_.pop_back();
    }
    out_.shrink_to_fit();
}

void Session::write_next() {
    if (out_.empty()) {
        writing_ = false;
        stream_.expires_never();
        if (end_after_writes_) finish_reply();
        return;
    }
    writing_ = true;
    stream_.expires_after(shared_.options.write_timeout);
    net::async_write(stream_, net::buffer(out_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                         self->out_bytes_ -= self->out_.front().size();
                         self->out_.pop_front();
                         if (ec) {
                             self->writing_ = false;
                             return self->peer_gone();
                         }
                         self->write_next();
                     });
}

void Session::finish_reply() {
    replying_ = streaming_ = chunked_ = end_after_writes_ = false;
    on_disconnect_ = nullptr;
    --shared_.replies_in_progress;
    if (watching_)
        stream_.socket().cancel();  // on_peer continues with after_reply
    else
        after_reply();
}

void Session::after_reply() {
    if (keep_alive_)
        read_header();
    else
        linger();
}

// While a reply is produced, a read tells us at once when the client goes away. Bytes of a
// pipelined next request stay in buffer_ for read_header.
void Session::watch_peer() {
    watching_ = true;
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_peer(ec, n); });
}

void Session::on_peer(beast::error_code ec, size_t bytes) {
    watching_ = false;
    if (!ec) buffer_.commit(bytes);
    if (closed_) return;
    if (!replying_) {
        if (ec && ec != net::error::operation_aborted) return close();
        return after_reply();
    }
    if (ec) return peer_gone();
    if (buffer_.size() < pipelined_limit_bytes) watch_peer();
}

void Session::peer_gone() {
    if (closed_) return;
    auto callback = std::move(on_disconnect_);
    close();
    if (callback) callback();
}

// Before closing after a reply, let the client read it: stop sending, drain what it still
// sends (say, the rest of a body too large to accept), then close.
void Session::linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(linger_timeout);
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                                if (ec) return self->close();
                                self->linger();
                            });
}

void Session::close() {
    if (closed_) return;
    closed_ = true;
    if (replying_) {
        replying_ = false;
        --shared_.replies_in_progress;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    drop_unsent();
}

}  // namespace

// Made while descriptors are plentiful: at EMFILE even the sanitizers' runtime cannot open a file.
std::string make_overloaded_reply() {
    const auto error = ApiError::overloaded("The server has too many open connections.");
    http::response<http::string_body> reply{http::status::service_unavailable, 11};
    reply.set(http::field::content_type, "application/json");
    reply.set(http::field::retry_after, "1");
    reply.keep_alive(false);
    reply.body() = error.to_json();
    reply.prepare_payload();
    return serialize(reply);
}

bool out_of_descriptors(const beast::error_code& ec) {
    return ec == boost::system::errc::too_many_files_open ||
           ec == boost::system::errc::too_many_files_open_in_system;
}

struct HttpServer::Impl {
    Impl(const HttpServerOptions& options, RequestHandler handler)
        : acceptor(net::make_strand(io)), signals(io, SIGINT, SIGTERM), work(io.get_executor()) {
        shared.options = options;
        shared.handler = std::move(handler);
        reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    ~Impl() {
        if (reserve_fd >= 0) ::close(reserve_fd);
    }

    void listen();
    void accept();
    void accept_later();
    void shed_one_connection();
    void run_io();
    void wait_for_signal();
    void stop_if_idle(std::chrono::steady_clock::time_point deadline);

    net::io_context io;
    Shared shared;
    tcp::acceptor acceptor;
    net::signal_set signals;
    net::executor_work_guard<net::io_context::executor_type> work;
    std::function<void()> on_signal;
    std::unique_ptr<net::steady_timer> idle_timer;
    net::steady_timer accept_timer{acceptor.get_executor()};
    // Kept open so that, out of descriptors, one can be freed to turn a client away with 503.
    int reserve_fd = -1;
    const std::string overloaded_reply = make_overloaded_reply();
    int signals_seen = 0;
    uint16_t port = 0;
};

void HttpServer::Impl::listen() {
    beast::error_code ec;
    const auto address = net::ip::make_address(shared.options.host, ec);
    if (ec) throw std::runtime_error("bad listen address " + shared.options.host);
    const tcp::endpoint endpoint{address, shared.options.port};
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) acceptor.non_blocking(true, ec);  // shed_one_connection must never wait
    if (ec)
        throw std::runtime_error("cannot listen on " + shared.options.host + ":" +
                                 std::to_string(shared.options.port) + ": " + ec.message());
    port = acceptor.local_endpoint().port();
}

void HttpServer::Impl::accept() {
    acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
        if (!acceptor.is_open()) return;
        if (!ec) {
            std::make_shared<Session>(std::move(socket), shared)->start();
            return accept();
        }
        if (!out_of_descriptors(ec)) return accept();  // e.g. the client gave up already
        shed_one_connection();
        accept_later();
    });
}

void HttpServer::Impl::accept_later() {
    accept_timer.expires_after(accept_backoff);
    accept_timer.async_wait([this](beast::error_code ec) {
        if (!ec && acceptor.is_open()) accept();
    });
}

// Frees the reserve descriptor to take one waiting client and tell it the server is full.
void HttpServer::Impl::shed_one_connection() {
    if (reserve_fd < 0) return;
    ::close(reserve_fd);
    beast::error_code ec;
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (!ec) {
        // A fresh socket's buffer takes it whole.
        socket.write_some(net::buffer(overloaded_reply), ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
    }
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// No exception from one connection may stop the server: log it and serve on.
void HttpServer::Impl::run_io() {
    for (;;) {
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "matrixserve: a connection failed: %s\n", e.what());
        }
    }
}

void HttpServer::Impl::wait_for_signal() {
    signals.async_wait([this](beast::error_code ec, int) {
        if (ec) return;
        if (++signals_seen > 1) return io.stop();
        if (on_signal) on_signal();
        wait_for_signal();
    });
}

void HttpServer::Impl::stop_if_idle(std::chrono::steady_clock::time_point deadline) {
    if (shared.replies_in_progress == 0 || std::chrono::steady_clock::now() >= deadline) {
        signals.cancel();
        work.reset();
        return io.stop();
    }
    idle_timer->expires_after(std::chrono::milliseconds(10));
    idle_timer->async_wait([this, deadline](beast::error_code) { stop_if_idle(deadline); });
}

HttpServer::HttpServer(const HttpServerOptions& options, RequestHandler handler)
    : impl_(std::make_unique<Impl>(options, std::move(handler))) {
    impl_->listen();
}

HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const {
    return impl_->port;
}

void HttpServer::run(std::function<void()> on_signal) {
    impl_->on_signal = std::move(on_signal);
    impl_->wait_for_signal();
    impl_->accept();
    std::vector<std::thread> helpers;
    for (int32_t i = 1; i < impl_->shared.options.io_threads; ++i)
        helpers.emplace_back([this] { impl_->run_io(); });
    impl_->run_io();
    for (auto& helper : helpers) helper.join();
}

void HttpServer::stop_accepting() {
    net::post(impl_->acceptor.get_executor(), [this] {
        beast::error_code ignored;
        impl_->acceptor.close(ignored);
        impl_->accept_timer.cancel();
    });
}

void HttpServer::stop_when_idle(std::chrono::milliseconds grace) {
    net::post(impl_->io, [this, grace] {
        impl_->idle_timer = std::make_unique<net::steady_timer>(impl_->io);
        impl_->stop_if_idle(std::chrono::steady_clock::now() + grace);
    });
}

}  // namespace ms::server
