// Parses one HTTP/1.1 request held whole in memory, with the same Beast parser and limits the
// server uses on sockets. For the fuzz target and tests, which have no socket.
#pragma once
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string_view>

#include "server/api_error.h"
#include "server/http_exchange.h"

namespace ms::server {

// Bounds on one request, shared by the socket server and the in-memory parser.
inline constexpr size_t kHeaderLimitBytes = 16 * 1024;      // request line and header fields
inline constexpr size_t kRequestLineLimitBytes = 8 * 1024;  // a longer target gets 414
// Unparsed bytes held at once. A chunked body's trailer must fit whole, which keeps every
// trailer field below Beast's 64 KiB field size (beyond it Beast throws instead of failing).
inline constexpr size_t kReadBufferBytes = 32 * 1024;

// What a client is told when its request could not be read: 413 (body), 414 (request line),
// 431 (header or trailer fields) or 400. `unparsed`: the bytes held when reading failed.
ApiError request_read_error(const boost::system::error_code& ec, std::string_view unparsed,
                            size_t max_body_bytes);

// Throws ApiError 414 when the request target (target_bytes long) is longer than
// kRequestLineLimitBytes.
void check_request_target(size_t target_bytes);

// Throws ApiError: 413 when the body exceeds max_body_bytes, 414/431 past the limits above,
// 400 when the bytes are not one complete, well-formed request.
HttpRequest parse_http_request(std::string_view bytes, size_t max_body_bytes);

}  // namespace ms::server
