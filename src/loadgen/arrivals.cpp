#include "loadgen/arrivals.h"

#include <cmath>
#include <random>

namespace ms::loadgen {

std::vector<double> poisson_arrivals(size_t count, double rate_per_second, uint64_t seed) {
    std::vector<double> times(count, 0.0);
    if (!(rate_per_second > 0) || std::isinf(rate_per_second)) return times;
    std::mt19937_64 rng(seed);
    std::exponential_distribution<double> gap(rate_per_second);
    double now = 0;
    // The first request goes at once, so the run does not start with idle time.
    for (size_t i = 1; i < count; ++i) times[i] = now += gap(rng);
    return times;
}

}  // namespace ms::loadgen
