#include "sim/workload.h"

#include <cmath>

namespace ms::sim {
namespace {

int32_t draw(const LengthDistribution& d, Rng& rng) {
    if (d.kind == LengthDistribution::Kind::fixed) return d.min;
    return d.min + static_cast<int32_t>(rng.next() % uint64_t(d.max - d.min + 1));
}

}  // namespace

std::vector<Request> generate_requests(const Workload& w) {
    Rng rng(w.seed);
    std::vector<Request> out(static_cast<size_t>(w.requests));
    double t = 0;
    for (Request& r : out) {
        if (w.arrival_rate > 0) t += -std::log(1 - rng.uniform()) / w.arrival_rate;
        r.arrival = t;
        r.prompt = draw(w.input, rng);
        r.output = draw(w.output, rng);
    }
    return out;
}

}  // namespace ms::sim
