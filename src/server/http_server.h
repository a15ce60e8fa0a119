// HTTP/1.1 server on Boost.Beast/Asio: async accept and connections on a small pool of I/O
// threads (one strand per connection, no thread per connection), keep-alive, a body size
// limit (413), read and write timeouts, streamed replies with chunked transfer encoding, and
// client-disconnect detection while a reply is being produced. Beast stays in the .cpp.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/http_exchange.h"

namespace ms::server {

struct HttpServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;  // 0: any free port (see HttpServer::port)
    size_t max_body_bytes = 1 << 20;
    int32_t io_threads = 2;
    std::chrono::seconds read_timeout{30};   // whole request, and idle keep-alive
    std::chrono::seconds write_timeout{60};  // one write to a client that stopped reading
    // Unsent bytes of one streamed reply; past it the request is cancelled (a client that does
    // not read its stream).
    size_t max_buffered_bytes = 4 << 20;
};

class HttpServer {
public:
    // Binds and listens; throws std::runtime_error when the address is unusable.
    HttpServer(const HttpServerOptions& options, RequestHandler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    uint16_t port() const;
    // Serves until stop_when_idle() completes. The first SIGINT or SIGTERM calls on_signal
    // on an I/O thread; a second one stops at once.
    void run(std::function<void()> on_signal);
    // Thread-safe: closes the listening socket; open connections keep being served.
    void stop_accepting();
    // Thread-safe: stops run() once no reply is in progress, or after grace.
    void stop_when_idle(std::chrono::milliseconds grace);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ms::server
