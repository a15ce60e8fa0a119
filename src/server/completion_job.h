// One API request in flight: its n choices in the engine, and the reply being built. Engine
// callbacks decode text on the engine thread (stop strings must end the request there), then
// post what they produced to the connection's executor, where all of the job's state lives.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/http_exchange.h"
#include "server/metrics.h"
#include "server/request_parser.h"
#include "server/response_format.h"

namespace ms::server {

struct JobContext {
    engine::Engine& engine;
    const tok::Vocab& vocab;
    ServerMetrics& metrics;
    std::string model_name;
    // A stream with nothing to send for this long gets an SSE comment, so that clients and
    // proxies can tell a queued request from a dead connection.
    std::chrono::milliseconds keepalive{15'000};
};

class CompletionJob : public std::enable_shared_from_this<CompletionJob> {
public:
    using Clock = std::chrono::steady_clock;

    CompletionJob(const JobContext& context, ParsedRequest request,
                  std::shared_ptr<ResponseChannel> channel, Clock::time_point arrival);
    // Submits every choice; throws ApiError (and cancels those already accepted) when the
    // engine refuses one. The choices' deadline (the same for all) holds even while the engine
    // is stuck in a step: the reply then ends with what was generated. Call on the
    // connection's executor.
    void start(std::vector<engine::GenerationRequest> choices);

private:
    struct TokenDelta {
        std::string text;
        engine::TokenEvent token;
        Clock::time_point time;
    };
    struct ChoiceState {
        uint64_t engine_id = 0;
        bool submitted = false;
        ChoiceOutput output;
        ChoiceTimings timings;
        Clock::time_point last_token_time;
        int32_t tokens_seen = 0;
        bool finished = false;
    };

    engine::RequestCallbacks callbacks_for(int32_t index);
    void on_token(int32_t index, TokenDelta delta);
    void on_finish(int32_t index, std::string tail, engine::FinishEvent event,
                   Clock::time_point time);
    void record_timing(ChoiceState& choice, Clock::time_point time);
    void stream_text(int32_t index, const std::string& text,
                     std::vector<engine::TokenEvent> tokens);
    bool done() const { return abandoned_ || finished_count_ == choices_.size(); }
    void keep_alive();
    void on_deadline();
    void write_event(std::string event);
    void complete();
    void fail(const std::string& message);
    void cancel_all();
    void log_request(int status, const std::string& finish_reason) const;

    JobContext context_;
    ParsedRequest request_;
    std::shared_ptr<ResponseChannel> channel_;
    Clock::time_point arrival_;
    std::string id_;
    ResponseFormat format_;
    std::vector<ChoiceState> choices_;
    Usage usage_;
    std::string error_;
    bool retry_later_ = false;  // the error is the model's being unavailable for now: 503
    size_t finished_count_ = 0;
    Clock::time_point last_write_;
    bool abandoned_ = false;  // refused at submission: the caller answers with the error
};

}  // namespace ms::server
