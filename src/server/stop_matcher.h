// Finds stop strings in streamed text. Text that could be the start of a stop string is held
// back until the next piece decides it, so a stop string split across tokens is still found
// and never reaches the client.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ms::server {

class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops);

    // Adds text; returns what is now safe to send. After a match it returns the text before
    // the stop string, and matched() becomes true; later input is ignored.
    std::string push(std::string_view text);
    // The held-back tail, once generation has ended without a match.
    std::string flush();
    bool matched() const { return matched_; }

private:
    size_t held_back_length() const;

    std::vector<std::string> stops_;
    std::string pending_;
    bool matched_ = false;
};

}  // namespace ms::server
