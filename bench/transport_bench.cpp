// Round-trip latency and bandwidth of the transports: rank 0 sends a message, rank 1 sends it
// straight back. In-process runs rank 1 on a thread; shared memory runs it in a forked process.
// Prints one line per (scheme, size) with the median round trip and the bandwidth it implies
// (2 x size per round trip). Usage: transport_bench [inproc|shm ...]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "transport/transport.h"

using namespace ms::transport;
using Clock = std::chrono::steady_clock;

namespace {

constexpr Milliseconds kWait{10000};
const std::vector<size_t> kSizes = {64, 4096, 65536, size_t(1) << 20, size_t(16) << 20};

int iterations_for(size_t size) {
    return size >= (size_t(1) << 20) ? 40 : 2000;
}

void echo(Transport& transport) {
    for (size_t s = 0; s < kSizes.size(); ++s)
        for (int i = 0; i < iterations_for(kSizes[s]) + 1; ++i)
            transport.send_owned(0, s, transport.recv(0, s, kWait));
}

void measure(const std::string& scheme, Transport& transport) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
        Bytes message(kSizes[s], std::byte{1});
        std::vector<double> microseconds;
        for (int i = 0; i < iterations_for(kSizes[s]) + 1; ++i) {  // the first one warms up
            const auto start = Clock::now();
            transport.send(1, s, message);
            message = transport.recv(1, s, kWait);
            const double us =
                std::chrono::duration<double, std::micro>(Clock::now() - start).count();
            if (i > 0) microseconds.push_back(us);
        }
        std::nth_element(microseconds.begin(), microseconds.begin() + microseconds.size() / 2,
                         microseconds.end());
        const double median = microseconds[microseconds.size() / 2];
        std::printf("%-7s %10zu B  median round trip %10.1f us  %8.2f GB/s\n", scheme.c_str(),
                    kSizes[s], median, 2.0 * double(kSizes[s]) / median / 1e3);
    }
}

void run_in_process() {
    const PeerTable table{{"inproc://bench", "inproc://bench"}};
    auto rank0 = make_transport(table, 0);
    auto rank1 = make_transport(table, 1);
    std::thread peer([&] { echo(*rank1); });
    measure("inproc", *rank0);
    peer.join();
}

void run_shared_memory() {
    const std::string name = "ms_bench_" + std::to_string(getpid());
    const PeerTable table{{"shm://" + name + "_0", "shm://" + name + "_1"}};
    const pid_t child = fork();
    if (child == 0) {
        echo(*make_transport(table, 1));  // destroyed (its segment removed) before _exit
        _exit(0);
    }
    {
        auto rank0 = make_transport(table, 0);
        measure("shm", *rank0);
    }
    waitpid(child, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> schemes(argv + 1, argv + argc);
    if (schemes.empty()) schemes = {"inproc", "shm"};
    for (const std::string& scheme : schemes) {
        if (scheme == "inproc")
            run_in_process();
        else if (scheme == "shm")
            run_shared_memory();
        else {
            std::fprintf(stderr, "unknown scheme '%s' (inproc or shm)\n", scheme.c_str());
            return 2;
        }
    }
    return 0;
}
