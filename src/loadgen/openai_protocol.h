// What the load generator says to an OpenAI-compatible server and how it reads the replies:
// the target URL, streaming request bodies, and the timing of a streamed response.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "loadgen/stats.h"
#include "loadgen/workload.h"

namespace ms::loadgen {

// http://HOST[:PORT][/PREFIX]; the endpoint path is appended to PREFIX.
struct ServerUrl {
    std::string host;
    std::string port = "80";
    std::string path_prefix;  // without a trailing '/'
};
// Throws std::invalid_argument for anything but plain http.
ServerUrl parse_url(std::string_view url);

enum class Api { Completions, ChatCompletions };
Api api_of_endpoint(std::string_view endpoint);  // by the path's last segment

struct RequestSettings {
    std::string model;
    Api api = Api::Completions;
    bool ignore_eos = true;  // vLLM extension: generate exactly max_tokens
};
// A streaming, greedy request asking for usage in the last chunk.
std::string request_body(const BenchRequest& request, const RequestSettings& settings);

// Turns the SSE events of one streamed response into a RequestRecord.
class StreamRecorder {
public:
    StreamRecorder(Api api, const BenchRequest& request, double start);

    // One event's data at time `now` (seconds, same clock as `start`).
    void on_event(const std::string& data, double now);
    bool finished() const { return done_ || record_.error.size(); }
    // The record once the response has ended at `now`; latency runs to [DONE] when it came,
    // and a stream without [DONE] fails.
    RequestRecord take(double now);

private:
    void on_chunk(std::string_view text, double now);

    Api api_;
    RequestRecord record_;
    std::optional<double> last_content_;
    int32_t content_chunks_ = 0;
    bool done_ = false;
};

}  // namespace ms::loadgen
