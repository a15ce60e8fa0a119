// When each request of a benchmark is sent: a Poisson process at a given rate, as in
// `vllm bench serve`, or all at once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ms::loadgen {

// Send times in seconds from the start, one per request, non-decreasing. Gaps between requests
// are exponential with mean 1/rate; a rate of infinity (or <= 0) sends everything at time 0.
std::vector<double> poisson_arrivals(size_t count, double rate_per_second, uint64_t seed);

}  // namespace ms::loadgen
