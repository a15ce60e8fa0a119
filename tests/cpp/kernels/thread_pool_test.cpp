#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace ms {
namespace {

// Runs parallel_for and counts how often each index was visited.
std::vector<int> visit_counts(ThreadPool& pool, int64_t n, int64_t grain) {
    std::vector<std::atomic<int>> counts(size_t(std::max<int64_t>(n, 0)));
    pool.parallel_for(
        n,
        [&](int64_t begin, int64_t end) {
            EXPECT_LE(0, begin);
            EXPECT_LT(begin, end);
            EXPECT_LE(end, n);
            for (int64_t i = begin; i < end; ++i) counts[size_t(i)].fetch_add(1);
        },
        grain);
    return std::vector<int>(counts.begin(), counts.end());
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
    for (int threads : {1, 2, 3, 4}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.size(), threads);
        for (int64_t n : {1, 2, 3, 7, 100, 1001})
            for (int64_t grain : {1, 4, 1000}) {
                const auto counts = visit_counts(pool, n, grain);
                for (int c : counts) ASSERT_EQ(c, 1) << "threads=" << threads << " n=" << n;
            }
    }
}

TEST(ThreadPool, EmptyRangeCallsNothing) {
    ThreadPool pool(3);
    int calls = 0;
    pool.parallel_for(0, [&](int64_t, int64_t) { ++calls; });
    pool.parallel_for(-5, [&](int64_t, int64_t) { ++calls; });
    EXPECT_EQ(calls, 0);
}

TEST(ThreadPool, ManyBackToBackCalls) {
    ThreadPool pool(4);
    std::atomic<int64_t> total{0};
    for (int call = 0; call < 5000; ++call)
        pool.parallel_for(8, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    EXPECT_EQ(total.load(), 5000 * 8);
}

TEST(ThreadPool, NestedCallRunsInline) {
    ThreadPool pool(2);
    std::atomic<int64_t> total{0};
    pool.parallel_for(4, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            pool.parallel_for(10, [&](int64_t b2, int64_t e2) { total.fetch_add(e2 - b2); });
    });
    EXPECT_EQ(total.load(), 40);
}

TEST(ThreadPool, ExceptionReachesCaller) {
    ThreadPool pool(2);
    EXPECT_THROW(pool.parallel_for(100,
                                   [](int64_t b, int64_t) {
                                       if (b == 0) throw std::runtime_error("x");
                                   }),
                 std::runtime_error);
    // Still usable afterwards.
    EXPECT_EQ(visit_counts(pool, 10, 1), std::vector<int>(10, 1));
}

}  // namespace
}  // namespace ms
