// The seam between the HTTP transport (http_server.cpp, the only place that knows Beast and
// Asio) and the API handlers: one request in, and a channel to answer it on, either with one
// whole response or with a stream of body pieces (server-sent events).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ms::server {

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path and query, as sent
    std::string authorization;
    std::string body;
    bool from_loopback = false;  // the client connected from 127.0.0.0/8 or ::1
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Retry-After
};

// Answers one request. post() may be called from any thread and runs the function on the
// connection's executor; every other method must be called there. Calls after the client has
// gone away, or after the reply has ended, are ignored.
class ResponseChannel {
public:
    virtual ~ResponseChannel() = default;
    virtual void post(std::function<void()> work) = 0;
    // Runs work on the connection's executor at `when` (also after the reply has ended).
    virtual void post_at(std::chrono::steady_clock::time_point when,
                         std::function<void()> work) = 0;
    virtual void send(HttpResponse response) = 0;
    virtual void start_stream(int status, std::string content_type) = 0;
    virtual void write(std::string piece) = 0;
    virtual void end_stream() = 0;
    // Called once, on the connection's executor, if the client disconnects before the reply ends.
    virtual void on_disconnect(std::function<void()> callback) = 0;
};

using RequestHandler = std::function<void(HttpRequest, std::shared_ptr<ResponseChannel>)>;

}  // namespace ms::server
