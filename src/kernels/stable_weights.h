// Weights that stay unchanged at their addresses for a while (a model's mapping): while such a
// region is registered, kernels may keep a faster layout of the matrices in it (AMX: weights
// unpacked to tile bytes, so a call no longer unpacks them) and forget it when the region goes.
// Memory elsewhere (a vector that may be freed and its address reused) never has one kept.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/matmul.h"

namespace ms::kernels {

class StableWeights {
public:
    StableWeights(const void* begin, const void* end);
    ~StableWeights();  // forgets every layout kept for matrices in [begin, end)
    StableWeights(const StableWeights&) = delete;
    StableWeights& operator=(const StableWeights&) = delete;

private:
    const void* begin_;
    const void* end_;
};

// Bytes the kept layouts may take in all: MATRIXSERVE_KEPT_WEIGHTS_MB, default 2048; 0 keeps
// none. A matrix whose layout would go over it is multiplied the usual way.
size_t kept_layout_budget();

// For the kernels. The layout kept for w (same data, rows, cols and type), or null.
std::shared_ptr<const void> find_kept_layout(const MatView& w);
// Whether a layout of `bytes` may be kept for w: w lies in a registered region and the budget
// has room.
bool may_keep_layout(const MatView& w, size_t bytes);
// Keeps it (if may_keep_layout still holds, else drops it); returns the layout kept for w, which
// is another thread's if that one came first.
std::shared_ptr<const void> keep_layout(const MatView& w, std::shared_ptr<const void> layout,
                                        size_t bytes);

}  // namespace ms::kernels
