// UCX transport: ranks in separate processes or hosts exchange tagged messages over UCP active
// messages (docs/transport.md, "UCX", has the connection scheme and the failure rules).
// Build it through make_transport() with "ucx://HOST:PORT" addresses; this header exposes the
// address parsing for tests and tools.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ms::transport {

struct UcxAddress {
    std::string host;  // numeric IPv4, e.g. 127.0.0.2
    uint16_t port = 0;
};

// Parses "ucx://HOST:PORT"; throws TransportError (invalid_argument) naming what is wrong.
UcxAddress parse_ucx_address(std::string_view address);

}  // namespace ms::transport
