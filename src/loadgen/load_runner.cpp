// The only file of the load generator with Asio and Beast (they are slow to compile).
#include "loadgen/load_runner.h"

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "loadgen/sse_parser.h"

namespace ms::loadgen {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
using Clock = std::chrono::steady_clock;

constexpr size_t read_chunk_bytes = 16 * 1024;
constexpr size_t error_body_shown_bytes = 300;

bool is_stale_connection(const beast::system_error& e) {
    const auto ec = e.code();
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

class Runner {
public:
    Runner(const std::vector<BenchRequest>& requests, const LoadOptions& options,
           const OnFinished& on_finished)
        : requests_(requests), options_(options), on_finished_(on_finished) {
        target_ = options.url.path_prefix + options.endpoint;
        endpoints_ = tcp::resolver(io_).resolve(options.url.host, options.url.port);
        result_.records.resize(requests.size());
    }

    LoadResult run() {
        start_ = Clock::now();
        net::co_spawn(io_, dispatch(), net::detached);
        io_.run();
        return std::move(result_);
    }

private:
    double seconds_since_start() const {
        return std::chrono::duration<double>(Clock::now() - start_).count();
    }

    awaitable<void> dispatch() {
        net::steady_timer timer(io_);
        for (size_t i = 0; i < requests_.size(); ++i) {
            const double at = i < options_.arrivals.size() ? options_.arrivals[i] : 0.0;
            timer.expires_at(start_ + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(at)));
            co_await timer.async_wait(use_awaitable);
            co_await wait_for_slot();
            ++in_flight_;
            net::co_spawn(io_, run_one(i), net::detached);
        }
    }

    awaitable<void> wait_for_slot() {
        while (options_.max_concurrency > 0 && in_flight_ >= options_.max_concurrency) {
            slot_freed_.expires_at(net::steady_timer::time_point::max());
            beast::error_code cancelled;  // finishing requests cancel the wait to wake us
            co_await slot_freed_.async_wait(net::redirect_error(use_awaitable, cancelled));
        }
    }

    awaitable<void> run_one(size_t index) {
        const auto& request = requests_[index];
        StreamRecorder recorder(options_.settings.api, request, seconds_since_start());
        std::string error;
        try {
            co_await exchange_with_retry(request, recorder);
        } catch (const std::exception& e) {
            error = e.what();
        }
        auto& record = result_.records[index] = recorder.take(seconds_since_start());
        if (!error.empty()) {
            record.error = error;
            record.success = false;
        }
        result_.duration = seconds_since_start();
        --in_flight_;
        slot_freed_.cancel();
        if (on_finished_) on_finished_(record);
    }

    // A kept-alive connection the server has meanwhile closed fails before any reply: such a
    // request is sent again once on a fresh connection.
    awaitable<void> exchange_with_retry(const BenchRequest& request, StreamRecorder& recorder) {
        auto [stream, reused] = co_await take_connection();
        bool replied = false;
        try {
            co_await exchange(stream, request, recorder, replied);
            co_return;
        } catch (const beast::system_error& e) {
            if (!reused || replied || !is_stale_connection(e)) throw;
        }
        auto fresh = co_await connect();
        co_await exchange(fresh, request, recorder, replied);
    }

    awaitable<std::pair<beast::tcp_stream, bool>> take_connection() {
        if (!idle_.empty()) {
            auto stream = std::move(idle_.back());
            idle_.pop_back();
            co_return std::pair{std::move(stream), true};
        }
        co_return std::pair{co_await connect(), false};
    }

    awaitable<beast::tcp_stream> connect() {
        beast::tcp_stream stream(io_);
        stream.expires_after(options_.request_timeout);
        try {
            co_await stream.async_connect(endpoints_, use_awaitable);
        } catch (const beast::system_error& e) {
            throw std::runtime_error("cannot connect to " + options_.url.host + ":" +
                                     options_.url.port + ": " + e.code().message());
        }
        stream.socket().set_option(tcp::no_delay(true));
        co_return stream;
    }

    http::request<http::string_body> make_request(const BenchRequest& request) const {
        http::request<http::string_body> req{http::verb::post, target_, 11};
        req.set(http::field::host, options_.url.host + ":" + options_.url.port);
        req.set(http::field::user_agent, "matrixserve-bench-serve");
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "text/event-stream");
        if (!options_.api_key.empty())
            req.set(http::field::authorization, "Bearer " + options_.api_key);
        req.body() = request_body(request, options_.settings);
        req.prepare_payload();
        return req;
    }

    awaitable<void> exchange(beast::tcp_stream& stream, const BenchRequest& request,
                             StreamRecorder& recorder, bool& replied) {
        stream.expires_after(options_.request_timeout);
        co_await http::async_write(stream, make_request(request), use_awaitable);
        beast::flat_buffer buffer;
        http::response_parser<http::buffer_body> parser;
        // Not boost::none: Boost 1.74 then rejects every body with a Content-Length.
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        co_await http::async_read_header(stream, buffer, parser, use_awaitable);
        replied = true;
        if (parser.get().result() != http::status::ok) {
            std::string body;
            co_await read_body(stream, buffer, parser, [&](std::string_view bytes) {
                body.append(bytes.substr(0, error_body_shown_bytes - body.size()));
            });
            throw std::runtime_error("HTTP " + std::to_string(parser.get().result_int()) + ": " +
                                     body);
        }
        SseParser sse;
        co_await read_body(stream, buffer, parser, [&](std::string_view bytes) {
            const double now = seconds_since_start();
            for (const auto& event : sse.feed(bytes)) recorder.on_event(event, now);
        });
        if (parser.get().keep_alive()) idle_.push_back(std::move(stream));
    }

    // Reads the body as it arrives (read_some: async_read would wait to fill the buffer),
    // handing each piece to `on_bytes` at once.
    template <class OnBytes>
    awaitable<void> read_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                              http::response_parser<http::buffer_body>& parser, OnBytes on_bytes) {
        char piece[read_chunk_bytes];
        while (!parser.is_done()) {
            parser.get().body().data = piece;
            parser.get().body().size = sizeof piece;
            beast::error_code ec;
            co_await http::async_read_some(stream, buffer, parser,
                                           net::redirect_error(use_awaitable, ec));
            if (ec && ec != http::error::need_buffer) throw beast::system_error(ec);
            on_bytes(std::string_view(piece, sizeof piece - parser.get().body().size));
        }
    }

    const std::vector<BenchRequest>& requests_;
    const LoadOptions& options_;
    const OnFinished& on_finished_;
    net::io_context io_;
    tcp::resolver::results_type endpoints_;
    std::string target_;
    Clock::time_point start_;
    size_t in_flight_ = 0;
    net::steady_timer slot_freed_{io_};
    std::vector<beast::tcp_stream> idle_;  // kept-alive connections, reused before new ones
    LoadResult result_;
};

}  // namespace

LoadResult run_load(const std::vector<BenchRequest>& requests, const LoadOptions& options,
                    const OnFinished& on_finished) {
    return Runner(requests, options, on_finished).run();
}

}  // namespace ms::loadgen
