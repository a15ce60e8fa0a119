// Requests of a workload: arrival times and prompt/output lengths drawn from its distributions.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/deployment.h"

namespace ms::sim {

struct Request {
    double arrival = 0;
    int64_t arrival_step = -1;    // replayed traces: queued before the instance's step of this
                                  // number (simulator.h); -1: at `arrival` seconds
    std::vector<int32_t> tokens;  // the prompt's ids when known (traces), for prefix caching
    double first_token = -1;
    double finish = -1;
    int32_t prompt = 0;
    int32_t output = 0;
    int32_t generated = 0;
};

// Small, fast and reproducible (splitmix64): the simulator draws one number per decoded token.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }

private:
    uint64_t state_;
};

// Sorted by arrival. Poisson arrivals at workload.arrival_rate, or all at time 0.
std::vector<Request> generate_requests(const Workload& w);

}  // namespace ms::sim
