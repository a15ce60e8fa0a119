#include "transport/transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "transport_test_util.h"

namespace ms::transport {
namespace {

using testing::pattern;
using testing::unique_table;
using namespace std::chrono_literals;

constexpr Milliseconds kWait{5000};

class TransportTest : public ::testing::TestWithParam<std::string> {
protected:
    // A small ring so that multi-megabyte messages must stream through it.
    std::vector<std::unique_ptr<Transport>> make_group(int n) {
        TransportOptions options;
        options.shm_ring_bytes = 64 * 1024;
        options.send_timeout = kWait;
        const PeerTable table = unique_table(GetParam(), n);
        std::vector<std::unique_ptr<Transport>> group;
        for (int rank = 0; rank < n; ++rank) group.push_back(make_transport(table, rank, options));
        return group;
    }
};

TEST_P(TransportTest, RoundTripsMessagesOfEverySize) {
    auto group = make_group(2);
    const std::vector<size_t> sizes = {0, 1, 7, 4096, 64 * 1024, 5 * 1024 * 1024 + 3};
    std::thread echo([&] {
        for (size_t i = 0; i < sizes.size(); ++i) {
            Bytes message = group[1]->recv(0, Tag(i), kWait);
            group[1]->send(0, Tag(i), message);
        }
    });
    for (size_t i = 0; i < sizes.size(); ++i) {
        const Bytes sent = pattern(sizes[i], uint32_t(i));
        group[0]->send(1, Tag(i), sent);
        EXPECT_EQ(group[0]->recv(1, Tag(i), kWait), sent) << "size " << sizes[i];
    }
    echo.join();
}

TEST_P(TransportTest, KeepsOrderPerTagWhileTagsInterleave) {
    auto group = make_group(2);
    constexpr int kPerTag = 50;
    for (int i = 0; i < kPerTag; ++i)
        for (Tag tag : {Tag(10), Tag(20), make_tag(TagKind::activations, 7, 1, 3)})
            group[0]->send(1, tag, pattern(size_t(i % 5) * 100, uint32_t(tag + i)));
    // Read the streams in the opposite order from how they were sent.
    for (Tag tag : {make_tag(TagKind::activations, 7, 1, 3), Tag(20), Tag(10)})
        for (int i = 0; i < kPerTag; ++i)
            ASSERT_EQ(group[1]->recv(0, tag, kWait),
                      pattern(size_t(i % 5) * 100, uint32_t(tag + i)))
                << "tag " << tag << " message " << i;
}

TEST_P(TransportTest, ThreadsSendAndReceiveStreamsConcurrently) {
    auto group = make_group(2);
    constexpr int kThreads = 3, kPerThread = 200;
    std::vector<std::thread> threads;
    std::vector<int> in_order(kThreads, 0);
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            for (int m = 0; m < kPerThread; ++m)
                group[0]->send(1, Tag(i),
                               pattern(size_t(1 + m % 7) * 3000, uint32_t(i * 1000 + m)));
        });
        threads.emplace_back([&, i] {
            for (int m = 0; m < kPerThread; ++m)
                in_order[size_t(i)] += group[1]->recv(0, Tag(i), kWait) ==
                                       pattern(size_t(1 + m % 7) * 3000, uint32_t(i * 1000 + m));
        });
    }
    for (auto& thread : threads) thread.join();
    for (int i = 0; i < kThreads; ++i) EXPECT_EQ(in_order[size_t(i)], kPerThread) << "tag " << i;
}

TEST_P(TransportTest, SendsToItself) {
    auto group = make_group(2);
    group[1]->send(1, 5, pattern(300, 1));
    EXPECT_EQ(group[1]->recv(1, 5, kWait), pattern(300, 1));
}

TEST_P(TransportTest, RecvTimesOutWithoutAMessage) {
    auto group = make_group(2);
    group[0]->send(1, 1, pattern(10, 1));  // another tag does not count
    const auto start = std::chrono::steady_clock::now();
    try {
        group[1]->recv(0, 2, 100ms);
        FAIL() << "recv returned";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.kind(), TransportError::Kind::timeout);
        EXPECT_EQ(error.peer(), 0);
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 100ms);
    EXPECT_LT(waited, 2s);
}

TEST_P(TransportTest, ClosedPeerIsGoneAfterItsMessagesAreRead) {
    auto group = make_group(2);
    group[1]->send(0, 1, pattern(10, 1));
    group[1].reset();
    EXPECT_EQ(group[0]->recv(1, 1, kWait), pattern(10, 1));
    try {
        group[0]->recv(1, 1, kWait);
        FAIL() << "recv returned";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.kind(), TransportError::Kind::peer_gone);
    }
}

TEST_P(TransportTest, CountsBytesAndMessages) {
    auto group = make_group(2);
    group[0]->send(1, 1, pattern(1000, 1));
    group[0]->send_owned(1, 2, pattern(24, 2));
    group[1]->recv(0, 2, kWait);
    const TransportStats sent = group[0]->stats();
    EXPECT_EQ(sent.messages_sent, 2u);
    EXPECT_EQ(sent.bytes_sent, 1024u);
    const TransportStats received = group[1]->stats();
    EXPECT_EQ(received.messages_received, 1u);
    EXPECT_EQ(received.bytes_received, 24u);
    EXPECT_GT(received.recv_nanoseconds, 0u);
}

TEST_P(TransportTest, CountsPerPeer) {
    auto group = make_group(3);
    group[0]->send(1, 1, pattern(100, 1));
    group[0]->send(2, 1, pattern(30, 2));
    group[0]->send(2, 1, pattern(7, 3));
    group[2]->send(0, 1, pattern(5, 4));
    group[0]->recv(2, 1, kWait);
    EXPECT_EQ(group[0]->stats(1).bytes_sent, 100u);
    EXPECT_EQ(group[0]->stats(2).bytes_sent, 37u);
    EXPECT_EQ(group[0]->stats(2).messages_sent, 2u);
    EXPECT_EQ(group[0]->stats(2).bytes_received, 5u);
    EXPECT_EQ(group[0]->stats(1).messages_received, 0u);
    EXPECT_EQ(group[0]->stats().bytes_sent, 137u);
    EXPECT_THROW(group[0]->stats(3), TransportError);
}

TEST_P(TransportTest, RejectsAPeerOutsideTheTable) {
    auto group = make_group(2);
    EXPECT_THROW(group[0]->send(2, 1, {}), TransportError);
    EXPECT_THROW(group[0]->recv(-1, 1, kWait), TransportError);
}

INSTANTIATE_TEST_SUITE_P(Schemes, TransportTest, ::testing::Values("inproc", "shm"));

TEST(InProcessTransport, HandsOverOwnedBuffersWithoutCopying) {
    const PeerTable table = unique_table("inproc", 2);
    auto a = make_transport(table, 0);
    auto b = make_transport(table, 1);
    Bytes message = pattern(1 << 20, 3);
    const std::byte* data = message.data();
    a->send_owned(1, 1, std::move(message));
    EXPECT_EQ(b->recv(0, 1, kWait).data(), data);
}

TEST(TransportFactory, RejectsBadTables) {
    EXPECT_THROW(make_transport({}, 0), TransportError);
    EXPECT_THROW(make_transport({{"nowhere"}}, 0), TransportError);
    EXPECT_THROW(make_transport({{"inproc://a", "shm://b"}}, 0), TransportError);
    EXPECT_THROW(make_transport({{"tcp://a"}}, 0), TransportError);
    EXPECT_THROW(make_transport({{"shm://a/b"}}, 0), TransportError);
    EXPECT_THROW(make_transport({{"inproc://a"}}, 1), TransportError);
}

}  // namespace
}  // namespace ms::transport
