#include "transport/expert_placement.h"

#include <algorithm>
#include <set>
#include <string>

#include "transport/transport.h"

namespace ms::transport {
namespace {

[[noreturn]] void throw_invalid(const std::string& what) {
    throw TransportError(TransportError::Kind::invalid_argument, -1, "expert placement: " + what);
}

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
    x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
    return x ^ (x >> 31);
}

}  // namespace

ExpertPlacement::ExpertPlacement(std::vector<std::vector<int>> replicas)
    : replicas_(std::move(replicas)) {
    std::set<int> ranks;
    for (size_t e = 0; e < replicas_.size(); ++e) {
        const auto& copies = replicas_[e];
        if (copies.empty()) throw_invalid("expert " + std::to_string(e) + " has no rank");
        if (std::set<int>(copies.begin(), copies.end()).size() != copies.size())
            throw_invalid("expert " + std::to_string(e) + " names a rank twice");
        for (int rank : copies) {
            if (rank < 0) throw_invalid("expert " + std::to_string(e) + " has a negative rank");
            ranks.insert(rank);
        }
    }
    expert_ranks_.assign(ranks.begin(), ranks.end());
}

const std::vector<int>& ExpertPlacement::replicas(int expert) const {
    if (expert < 0 || expert >= n_experts())
        throw_invalid("expert " + std::to_string(expert) + " is not in 0.." +
                      std::to_string(n_experts() - 1));
    return replicas_[size_t(expert)];
}

int ExpertPlacement::rank_for(int expert, int source_rank, int64_t token) const {
    const auto& copies = replicas(expert);
    if (copies.size() == 1) return copies.front();
    const uint64_t key =
        mix((uint64_t(source_rank) << 48) ^ (uint64_t(expert) << 32) ^ uint64_t(token));
    return copies[key % copies.size()];
}

bool ExpertPlacement::holds(int rank, int expert) const {
    const auto& copies = replicas(expert);
    return std::find(copies.begin(), copies.end(), rank) != copies.end();
}

}  // namespace ms::transport
