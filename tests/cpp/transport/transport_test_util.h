// Helpers shared by the transport tests: unique peer tables and byte patterns.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "transport/transport.h"

namespace ms::transport::testing {

// A table of n addresses under `scheme` ("inproc" or "shm") that no other test uses.
inline PeerTable unique_table(const std::string& scheme, int n) {
    static std::atomic<int> counter{0};
    const std::string base =
        "ms_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    PeerTable table;
    for (int rank = 0; rank < n; ++rank) {
        std::string address = scheme;
        address += "://";
        address += base;
        if (scheme == "shm") {  // one segment per rank
            address += '_';
            address += std::to_string(rank);
        }
        table.addresses.push_back(address);
    }
    return table;
}

// A killed process cannot remove its shm segment; the test does it for it.
inline void remove_segment(const PeerTable& table, int rank) {
    const std::string& address = table.addresses[size_t(rank)];
    std::string name = "/";
    name += address.substr(address.find("://") + 3);
    shm_unlink(name.c_str());
}

inline Bytes pattern(size_t size, uint32_t seed) {
    Bytes bytes(size);
    uint32_t x = seed * 2654435761u + 1;
    for (std::byte& b : bytes) {
        x = x * 1664525u + 1013904223u;
        b = std::byte(x >> 24);
    }
    return bytes;
}

}  // namespace ms::transport::testing
