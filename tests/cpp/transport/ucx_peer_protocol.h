// What the UCX test process and its ucx_peer children agree on: tags, timeouts, messages.
#pragma once
#include <cstring>

#include "transport/transport.h"

namespace ms::transport {

constexpr Tag kEchoRequest = make_tag(TagKind::control, 1);
constexpr Tag kEchoReply = make_tag(TagKind::control, 2);
constexpr Tag kStreamA = make_tag(TagKind::activations, 7);
constexpr Tag kStreamB = make_tag(TagKind::expert_dispatch, 7);
constexpr Tag kRelay = make_tag(TagKind::activations, 9);
constexpr Milliseconds kPeerIdle{30000};
constexpr uint32_t kStreamMessages = 40;

// Message i of the streams role: its number first, then filler. Sizes cycle through eager and
// rendezvous sizes, so ordering is checked across both UCX protocols.
inline Bytes stream_message(uint32_t i) {
    constexpr size_t sizes[] = {4, 100, 9000, 700000};
    Bytes bytes(sizes[i % 4], std::byte(i));
    std::memcpy(bytes.data(), &i, sizeof(i));
    return bytes;
}

inline uint32_t stream_number(const Bytes& bytes) {
    uint32_t i = ~0u;
    if (bytes.size() >= sizeof(i)) std::memcpy(&i, bytes.data(), sizeof(i));
    return i;
}

}  // namespace ms::transport
