#include "kernels/stable_weights.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

namespace ms::kernels {
namespace {

using Key = std::tuple<const void*, int64_t, int64_t, DType>;

struct Kept {
    std::shared_ptr<const void> layout;
    size_t bytes = 0;
};

struct Store {
    std::mutex mutex;
    std::vector<std::pair<const char*, const char*>> regions;
    std::map<Key, Kept> layouts;
    size_t bytes = 0;
};

Store& store() {
    static Store s;
    return s;
}

Key key_of(const MatView& w) {
    return {w.data, w.rows, w.cols, w.type};
}

// Under the store's mutex.
bool in_region(const Store& s, const MatView& w) {
    const auto* begin = static_cast<const char*>(w.data);
    const char* end = begin + w.rows * row_bytes(w.type, w.cols);
    for (const auto& [first, last] : s.regions)
        if (begin >= first && end <= last) return true;
    return false;
}

bool has_room(const Store& s, const MatView& w, size_t bytes) {
    return in_region(s, w) && s.bytes + bytes <= kept_layout_budget();
}

}  // namespace

StableWeights::StableWeights(const void* begin, const void* end) : begin_(begin), end_(end) {
    Store& s = store();
    std::lock_guard lock(s.mutex);
    s.regions.emplace_back(static_cast<const char*>(begin), static_cast<const char*>(end));
}

StableWeights::~StableWeights() {
    Store& s = store();
    std::lock_guard lock(s.mutex);
    std::erase(s.regions,
               std::pair(static_cast<const char*>(begin_), static_cast<const char*>(end_)));
    for (auto it = s.layouts.begin(); it != s.layouts.end();) {
        const auto* data = static_cast<const char*>(std::get<0>(it->first));
        if (data >= begin_ && data < end_) {
            s.bytes -= it->second.bytes;
            it = s.layouts.erase(it);
        } else {
            ++it;
        }
    }
}

size_t kept_layout_budget() {
    static const size_t budget = [] {
        const char* mb = std::getenv("MATRIXSERVE_KEPT_WEIGHTS_MB");
        return size_t(mb ? std::strtoull(mb, nullptr, 10) : 2048) << 20;
    }();
    return budget;
}

std::shared_ptr<const void> find_kept_layout(const MatView& w) {
    Store& s = store();
    std::lock_guard lock(s.mutex);
    const auto it = s.layouts.find(key_of(w));
    return it == s.layouts.end() ? nullptr : it->second.layout;
}

bool may_keep_layout(const MatView& w, size_t bytes) {
    Store& s = store();
    std::lock_guard lock(s.mutex);
    return has_room(s, w, bytes);
}

std::shared_ptr<const void> keep_layout(const MatView& w, std::shared_ptr<const void> layout,
                                        size_t bytes) {
    Store& s = store();
    std::lock_guard lock(s.mutex);
    if (const auto it = s.layouts.find(key_of(w)); it != s.layouts.end()) return it->second.layout;
    if (!has_room(s, w, bytes)) return layout;  // used for this call only
    s.layouts.emplace(key_of(w), Kept{layout, bytes});
    s.bytes += bytes;
    return layout;
}

}  // namespace ms::kernels
