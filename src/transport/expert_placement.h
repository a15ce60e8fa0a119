// Which ranks hold which MoE experts. An expert may have several copies (redundant experts for
// hot spots); each token is sent to one copy, chosen deterministically so that a replay of the
// same batch takes the same path.
#pragma once
#include <cstdint>
#include <vector>

namespace ms::transport {

class ExpertPlacement {
public:
    // replicas[e] = the ranks holding expert e (at least one each, no rank twice).
    explicit ExpertPlacement(std::vector<std::vector<int>> replicas);

    int n_experts() const { return int(replicas_.size()); }
    const std::vector<int>& replicas(int expert) const;
    // The copy that serves `token` of `source_rank`'s batch: copies share tokens by a hash.
    int rank_for(int expert, int source_rank, int64_t token) const;
    // Ranks holding at least one expert, ascending.
    const std::vector<int>& expert_ranks() const { return expert_ranks_; }
    bool holds(int rank, int expert) const;

private:
    std::vector<std::vector<int>> replicas_;
    std::vector<int> expert_ranks_;
};

}  // namespace ms::transport
