// A transport peer in its own process, for the multi-process UCX tests and the ping-pong bench:
//   ucx_peer ROLE RANK ADDRESS...      (any transport scheme; UCX tests pass ucx:// addresses)
// Roles:
//   echo     every message from rank 0 on kEchoRequest comes back on kEchoReply
//   streams  sends kStreamMessages numbered messages to rank 0, alternating two tags
//   relay    passes one message around the ring (from rank-1 to rank+1), appending its rank
// Exits 0 when its role is done or rank 0 goes away, 1 on any other error.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "transport/transport.h"
#include "ucx_peer_protocol.h"

namespace ms::transport {
namespace {

void echo(Transport& transport) {
    for (;;) transport.send(0, kEchoReply, transport.recv(0, kEchoRequest, kPeerIdle));
}

void streams(Transport& transport) {
    for (uint32_t i = 0; i < kStreamMessages; ++i)
        transport.send(0, i % 2 == 0 ? kStreamA : kStreamB, stream_message(i));
    transport.recv(0, kEchoRequest, kPeerIdle);  // rank 0 says it has everything
}

void relay(Transport& transport) {
    const int from = transport.rank() - 1;
    const int to = (transport.rank() + 1) % transport.size();
    Bytes message = transport.recv(from, kRelay, kPeerIdle);
    message.push_back(std::byte(transport.rank()));
    transport.send(to, kRelay, message);
    transport.recv(0, kEchoRequest, kPeerIdle);  // keep serving until rank 0 is done
}

int run(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: ucx_peer echo|streams|relay RANK ADDRESS...\n");
        return 2;
    }
    const std::string role = argv[1];
    PeerTable table;
    for (int i = 3; i < argc; ++i) table.addresses.emplace_back(argv[i]);
    auto transport = make_transport(table, std::atoi(argv[2]));
    try {
        if (role == "echo") echo(*transport);
        if (role == "streams") streams(*transport);
        if (role == "relay") relay(*transport);
    } catch (const TransportError& error) {
        if (error.kind() != TransportError::Kind::peer_gone) throw;
    }
    return 0;
}

}  // namespace
}  // namespace ms::transport

int main(int argc, char** argv) {
    try {
        return ms::transport::run(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "ucx_peer: %s\n", error.what());
        return 1;
    }
}
