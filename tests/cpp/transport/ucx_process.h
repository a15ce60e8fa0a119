// Test support for the UCX transport: loopback-only environment, unique peer tables and
// ucx_peer children started with fork+exec (never a bare fork: UCX runs threads).
#pragma once
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "transport/transport.h"

extern char** environ;

namespace ms::transport::testing {

// TCP over the loopback device only: UCX would otherwise also open the machine's other
// interfaces.
inline void use_loopback_tcp() {
    setenv("UCX_TLS", "tcp,self", 1);
    setenv("UCX_NET_DEVICES", "lo", 1);
}

// One ucx:// address per host, on ports no other table of this process (or, by the pid, of a
// concurrent test run) uses.
inline PeerTable ucx_table(const std::vector<std::string>& hosts) {
    static std::atomic<int> tables{0};
    const int base = 20000 + (getpid() % 1000) * 40 + (tables++ % 10) * 4;
    PeerTable table;
    for (size_t rank = 0; rank < hosts.size(); ++rank)
        table.addresses.push_back("ucx://" + hosts[rank] + ":" + std::to_string(base + rank));
    return table;
}

// A ucx_peer process (see ucx_peer.cpp); killed when the object goes away.
class PeerProcess {
public:
    PeerProcess(const std::string& role, int rank, const PeerTable& table) {
        std::vector<std::string> args = {MS_UCX_PEER_BINARY, role, std::to_string(rank)};
        args.insert(args.end(), table.addresses.begin(), table.addresses.end());
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    }
    ~PeerProcess() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            exit_code();
        }
    }
    PeerProcess(const PeerProcess&) = delete;
    PeerProcess& operator=(const PeerProcess&) = delete;

    bool started() const { return pid_ > 0; }
    void kill_hard() { kill(pid_, SIGKILL); }
    // Waits for the process; its exit code, or -1 when a signal ended it.
    int exit_code() {
        if (pid_ > 0) {
            int status = 0;
            waitpid(pid_, &status, 0);
            pid_ = -1;
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        return exit_code_;
    }

private:
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

}  // namespace ms::transport::testing
