// Server-sent events framing: bytes as they arrive from the socket, in pieces of any size, to
// the data payloads of complete events.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ms::loadgen {

class SseParser {
public:
    // Returns the data of every event completed by `bytes` (multi-line data joined with '\n').
    std::vector<std::string> feed(std::string_view bytes);

private:
    void take_line(std::string_view line, std::vector<std::string>& events);

    std::string pending_;  // bytes after the last line break
    std::string data_;     // data lines of the event being read
    bool has_data_ = false;
};

}  // namespace ms::loadgen
