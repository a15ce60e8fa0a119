#include "server/stop_matcher.h"

#include <algorithm>

namespace ms::server {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

std::string StopMatcher::push(std::string_view text) {
    if (matched_) return {};
    pending_ += text;
    size_t first = std::string::npos;
    for (const auto& stop : stops_) first = std::min(first, pending_.find(stop));
    if (first != std::string::npos) {
        matched_ = true;
        std::string before = pending_.substr(0, first);
        pending_.clear();
        return before;
    }
    const size_t keep = held_back_length();
    std::string ready = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return ready;
}

std::string StopMatcher::flush() {
    std::string rest;
    rest.swap(pending_);
    return matched_ ? std::string() : rest;
}

// The longest tail of pending_ that is a proper prefix of some stop string.
size_t StopMatcher::held_back_length() const {
    size_t longest = 0;
    for (const auto& stop : stops_) {
        const size_t most = std::min(pending_.size(), stop.size() - 1);
        for (size_t len = most; len > longest; --len) {
            if (std::string_view(pending_).substr(pending_.size() - len) ==
                std::string_view(stop).substr(0, len)) {
                longest = len;
                break;
            }
        }
    }
    return longest;
}

}  // namespace ms::server
