// Parses one HTTP/1.1 request held whole in memory, with the same Beast parser and limits the
// server uses on sockets. For the fuzz target and tests, which have no socket.
#pragma once
#include <cstddef>
#include <string_view>

#include "server/http_exchange.h"

namespace ms::server {

// Throws ApiError: 413 when the body exceeds max_body_bytes, 400 when the bytes are not one
// complete, well-formed request.
HttpRequest parse_http_request(std::string_view bytes, size_t max_body_bytes);

}  // namespace ms::server
