#include "server/http_parse.h"

#include <boost/beast/http.hpp>

#include "server/api_error.h"

namespace ms::server {

HttpRequest parse_http_request(std::string_view bytes, size_t max_body_bytes) {
    namespace http = boost::beast::http;
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(max_body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    size_t offset = 0;
    while (!parser.is_done() && offset < bytes.size()) {
        const size_t used =
            parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
        if (ec || used == 0) break;
        offset += used;
    }
    if (ec == http::error::body_limit) throw ApiError::too_large(max_body_bytes);
    if (ec && ec != http::error::need_more)
        throw ApiError::invalid("Malformed HTTP request: " + ec.message());
    if (!parser.is_done()) throw ApiError::invalid("Incomplete HTTP request.");
    if (offset != bytes.size()) throw ApiError::invalid("Bytes after the end of the request.");
    auto& message = parser.get();
    return {std::string(message.method_string()), std::string(message.target()),
            std::string(message[http::field::authorization]), std::move(message.body())};
}

}  // namespace ms::server
