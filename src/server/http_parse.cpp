#include "server/http_parse.h"

#include <algorithm>
#include <boost/beast/http.hpp>

namespace ms::server {

namespace http = boost::beast::http;

ApiError request_read_error(const boost::system::error_code& ec, std::string_view unparsed,
                            size_t max_body_bytes) {
    if (ec == http::error::body_limit) return ApiError::too_large(max_body_bytes);
    if (ec == http::error::buffer_overflow) return ApiError::header_too_large(kReadBufferBytes);
    if (ec == http::error::header_limit) {
        // Beast has consumed the request line if it ended, so the bytes left begin with it
        // only when the request line itself is too long: "METHOD target" has a space before
        // any colon, a header field "Name: value" a colon first.
        const bool request_line = unparsed.find(' ') < unparsed.find(':');
        if (request_line) return ApiError::uri_too_long(kRequestLineLimitBytes);
        return ApiError::header_too_large(kHeaderLimitBytes);
    }
    return ApiError::invalid("Malformed HTTP request: " + ec.message());
}

void check_request_target(size_t target_bytes) {
    if (target_bytes > kRequestLineLimitBytes) throw ApiError::uri_too_long(kRequestLineLimitBytes);
}

// Feeds the parser at most kReadBufferBytes unparsed bytes at a time, as the socket server's
// read buffer does, so a piece that cannot be parsed within that window fails here too.
HttpRequest parse_http_request(std::string_view bytes, size_t max_body_bytes) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimitBytes);
    parser.body_limit(max_body_bytes);
    parser.eager(true);
    boost::system::error_code ec;
    size_t offset = 0;
    while (!parser.is_done() && offset < bytes.size()) {
        const size_t window = std::min(bytes.size() - offset, kReadBufferBytes);
        const size_t used = parser.put(boost::asio::buffer(bytes.data() + offset, window), ec);
        offset += used;
        if (ec != http::error::need_more) break;
        if (used == 0 && window == kReadBufferBytes) ec = http::error::buffer_overflow;
        if (used == 0) break;
        ec = {};
    }
    if (ec && ec != http::error::need_more)
        throw request_read_error(ec, bytes.substr(offset), max_body_bytes);
    if (!parser.is_done()) throw ApiError::invalid("Incomplete HTTP request.");
    if (offset != bytes.size()) throw ApiError::invalid("Bytes after the end of the request.");
    auto& message = parser.get();
    check_request_target(message.target().size());
    return {std::string(message.method_string()), std::string(message.target()),
            std::string(message[http::field::authorization]), std::move(message.body())};
}

}  // namespace ms::server
