// A fixed set of worker threads that split index ranges; the calling thread takes part.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

namespace ms {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);  // n_threads >= 1, including the caller
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }
    // Calls fn(begin, end) over disjoint chunks covering [0, n); returns when all are done.
    // grain is the smallest chunk worth handing to another thread.
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                      int64_t grain = 1);

private:
    struct State;
    int n_threads_;
    std::unique_ptr<State> state_;
};

}  // namespace ms
