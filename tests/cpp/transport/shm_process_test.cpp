// The shared-memory transport between two real processes: a forked child is rank 1.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "transport/transport.h"
#include "transport_test_util.h"

namespace ms::transport {
namespace {

using testing::pattern;
using testing::remove_segment;
using testing::unique_table;
using namespace std::chrono_literals;

constexpr Milliseconds kWait{5000};

// Runs body(transport) as rank 1 in a child process; returns the child's pid. The child exits
// 0 when body returns, 1 when it throws.
template <typename Body>
pid_t spawn_rank1(const PeerTable& table, const TransportOptions& options, Body body) {
    const pid_t pid = fork();
    if (pid == 0) {
        int status = 0;
        try {
            auto transport = make_transport(table, 1, options);
            body(*transport);
        } catch (...) {
            status = 1;
        }
        _exit(status);
    }
    return pid;
}

int wait_exit_code(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SharedMemoryProcesses, ChildEchoesMessagesLargerThanTheRing) {
    const PeerTable table = unique_table("shm", 2);
    TransportOptions options;
    options.shm_ring_bytes = 64 * 1024;
    const std::vector<size_t> sizes = {0, 1, 1000, 3 * 1024 * 1024 + 1};
    const pid_t child = spawn_rank1(table, options, [&](Transport& t) {
        for (size_t i = 0; i < sizes.size(); ++i) t.send(0, Tag(i), t.recv(0, Tag(i), kWait));
    });
    auto parent = make_transport(table, 0, options);
    for (size_t i = 0; i < sizes.size(); ++i) {
        const Bytes sent = pattern(sizes[i], uint32_t(i));
        parent->send(1, Tag(i), sent);
        EXPECT_EQ(parent->recv(1, Tag(i), kWait), sent) << "size " << sizes[i];
    }
    EXPECT_EQ(wait_exit_code(child), 0);
}

TEST(SharedMemoryProcesses, KilledPeerEndsAWaitingRecvWithinTheTimeout) {
    const PeerTable table = unique_table("shm", 2);
    const pid_t child = spawn_rank1(table, {}, [](Transport& t) {
        t.send(0, 1, pattern(8, 1));
        pause();  // until killed
    });
    auto parent = make_transport(table, 0);
    ASSERT_EQ(parent->recv(1, 1, kWait), pattern(8, 1));
    std::thread killer([&] {
        std::this_thread::sleep_for(200ms);
        kill(child, SIGKILL);
    });
    const auto start = std::chrono::steady_clock::now();
    try {
        parent->recv(1, 2, kWait);
        FAIL() << "recv returned";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.kind(), TransportError::Kind::peer_gone) << error.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    killer.join();
    EXPECT_EQ(wait_exit_code(child), -1);
    remove_segment(table, 1);
}

TEST(SharedMemoryProcesses, KilledReceiverEndsABlockedSend) {
    const PeerTable table = unique_table("shm", 2);
    TransportOptions options;
    options.shm_ring_bytes = 4096;
    const pid_t child = spawn_rank1(table, options, [](Transport& t) {
        t.send(0, 1, {});
        pause();  // never reads, so the parent's big send fills the ring and waits
    });
    auto parent = make_transport(table, 0, options);
    ASSERT_EQ(parent->recv(1, 1, kWait).size(), 0u);
    std::thread killer([&] {
        std::this_thread::sleep_for(200ms);
        kill(child, SIGKILL);
    });
    const auto start = std::chrono::steady_clock::now();
    try {
        parent->send(1, 2, pattern(1 << 20, 2));
        FAIL() << "send returned";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.kind(), TransportError::Kind::peer_gone) << error.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    killer.join();
    wait_exit_code(child);
    remove_segment(table, 1);
}

TEST(SharedMemoryProcesses, RestartedPeerIsReachedAgain) {
    const PeerTable table = unique_table("shm", 2);
    auto parent = make_transport(table, 0);
    for (int incarnation = 0; incarnation < 2; ++incarnation) {
        const pid_t child =
            spawn_rank1(table, {}, [](Transport& t) { t.send(0, 1, t.recv(0, 1, kWait)); });
        Bytes sent = pattern(100, uint32_t(incarnation));
        // The first send after the old child died reports it gone; the retry reaches the new one.
        try {
            parent->send(1, 1, sent);
        } catch (const TransportError& error) {
            ASSERT_EQ(error.kind(), TransportError::Kind::peer_gone) << error.what();
            parent->send(1, 1, sent);
        }
        EXPECT_EQ(parent->recv(1, 1, kWait), sent);
        EXPECT_EQ(wait_exit_code(child), 0);
    }
}

// Until the new process attaches to our ring, a receive reports the old one gone.
void wait_for_hello(Transport& parent) {
    const auto give_up = std::chrono::steady_clock::now() + kWait;
    for (;;) {
        try {
            parent.recv(1, 2, kWait);
            return;
        } catch (const TransportError& error) {
            ASSERT_EQ(error.kind(), TransportError::Kind::peer_gone) << error.what();
            ASSERT_LT(std::chrono::steady_clock::now(), give_up);
            std::this_thread::sleep_for(1ms);
        }
    }
}

// A worker relaunched by its supervisor after the old one was reaped: the sender has not sent
// since the death, so its first send must reach the new process instead of reporting the old one.
TEST(SharedMemoryProcesses, PeerReplacedBeforeTheNextSendIsReachedAtOnce) {
    const PeerTable table = unique_table("shm", 2);
    auto parent = make_transport(table, 0);
    const auto echo_after_hello = [](Transport& t) {
        t.send(0, 2, {});
        t.send(0, 1, t.recv(0, 1, kWait));
    };
    for (int incarnation = 0; incarnation < 2; ++incarnation) {
        const pid_t child = spawn_rank1(table, {}, echo_after_hello);
        wait_for_hello(*parent);
        const Bytes sent = pattern(100, uint32_t(incarnation));
        EXPECT_NO_THROW(parent->send(1, 1, sent));
        EXPECT_EQ(parent->recv(1, 1, kWait), sent);
        EXPECT_EQ(wait_exit_code(child), 0);
    }
}

}  // namespace
}  // namespace ms::transport
