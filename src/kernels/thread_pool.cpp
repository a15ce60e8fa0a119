#include "kernels/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ms {
namespace {

// A decode step issues ~100 parallel_for calls per token, microseconds apart: workers spin
// this many pause instructions (tens of microseconds) before sleeping, so back-to-back calls
// never pay a futex wake-up.
constexpr int kSpinsBeforeSleep = 4000;
// The caller waiting for stragglers yields after this many spins (the machine may be
// oversubscribed, and a descheduled worker needs the core).
constexpr int kSpinsBeforeYield = 2000;
// Chunks per thread: a few, so that a slow thread does not hold up the others.
constexpr int64_t kChunksPerThread = 4;

// Set while a thread runs a task, so a nested parallel_for runs inline instead of deadlocking.
thread_local bool t_inside_task = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

}  // namespace

struct ThreadPool::State {
    // The job being run; written by the caller before it publishes a new generation.
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t n = 0;
    int64_t chunk = 1;
    std::atomic<int64_t> next_begin{0};

    // Workers wait on `generation`. To take part in a job they join it through `job_word`
    // (generation in the high half, a closed flag, and the count of joined workers), so the
    // caller only waits for workers that actually joined, never for one that is asleep or
    // descheduled: it closes the job once every chunk is taken.
    std::atomic<uint32_t> generation{0};
    std::atomic<uint64_t> job_word{0};
    static constexpr uint64_t kClosed = uint64_t(1) << 31;
    static constexpr uint64_t kJoinedMask = kClosed - 1;

    std::atomic<int> sleepers{0};  // workers blocked in generation.wait()
    std::atomic<bool> stopping{false};

    std::mutex error_mutex;
    std::exception_ptr error;

    std::vector<std::thread> threads;

    // Takes chunks until none is left. Runs on the caller and on every joined worker.
    void run_chunks() {
        t_inside_task = true;
        for (;;) {
            const int64_t begin = next_begin.fetch_add(chunk, std::memory_order_relaxed);
            if (begin >= n) break;
            try {
                (*fn)(begin, std::min(n, begin + chunk));
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
            }
        }
        t_inside_task = false;
    }

    uint32_t wait_for_new_generation(uint32_t seen) {
        for (int i = 0; i < kSpinsBeforeSleep; ++i) {
            const uint32_t g = generation.load(std::memory_order_acquire);
            if (g != seen) return g;
            cpu_relax();
        }
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        generation.wait(seen, std::memory_order_seq_cst);
        sleepers.fetch_sub(1, std::memory_order_relaxed);
        return generation.load(std::memory_order_acquire);
    }

    // Joins job `gen` unless the caller has closed it or already moved on.
    bool try_join(uint32_t gen) {
        uint64_t word = job_word.load(std::memory_order_acquire);
        while ((word >> 32) == gen && !(word & kClosed))
            if (job_word.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel))
                return true;
        return false;
    }

    void worker_loop() {
        uint32_t seen = 0;
        for (;;) {
            seen = wait_for_new_generation(seen);
            if (stopping.load(std::memory_order_acquire)) return;
            if (!try_join(seen)) continue;
            run_chunks();
            job_word.fetch_sub(1, std::memory_order_release);
        }
    }

    void publish(uint32_t gen) {
        job_word.store(uint64_t(gen) << 32, std::memory_order_release);
        generation.store(gen, std::memory_order_seq_cst);
        if (sleepers.load(std::memory_order_seq_cst) > 0) generation.notify_all();
    }

    // Called once every chunk is taken: no one joins any more; waits for those who did.
    void close_and_wait() {
        job_word.fetch_or(kClosed, std::memory_order_acq_rel);
        for (int spins = 0; (job_word.load(std::memory_order_acquire) & kJoinedMask) != 0;
             ++spins) {
            if (spins < kSpinsBeforeYield) {
                cpu_relax();
            } else {
                std::this_thread::yield();
            }
        }
    }
};

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(std::max(1, n_threads)), state_(std::make_unique<State>()) {
    for (int i = 1; i < n_threads_; ++i)
        state_->threads.emplace_back([s = state_.get()] { s->worker_loop(); });
}

ThreadPool::~ThreadPool() {
    state_->stopping.store(true, std::memory_order_release);
    state_->publish(state_->generation.load() + 1);
    for (auto& t : state_->threads) t.join();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t grain) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads_ == 1 || n <= grain || t_inside_task) {
        fn(0, n);
        return;
    }
    State& s = *state_;
    const int64_t even_chunk =
        (n + n_threads_ * kChunksPerThread - 1) / (n_threads_ * kChunksPerThread);
    s.fn = &fn;
    s.n = n;
    s.chunk = std::max(grain, even_chunk);
    s.next_begin.store(0, std::memory_order_relaxed);
    s.error = nullptr;
    s.publish(s.generation.load(std::memory_order_relaxed) + 1);

    s.run_chunks();
    s.close_and_wait();
    if (s.error) std::rethrow_exception(s.error);
}

}  // namespace ms
