#include "server/completion_job.h"

#include <cstdio>
#include <random>

#include "server/api_error.h"
#include "server/choice_decoder.h"
#include "server/json_text.h"
#include "server/prompt_builder.h"

namespace ms::server {
namespace {

std::string new_id(Endpoint endpoint) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
    return (endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + std::string(hex);
}

int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// OpenAI knows only "stop" and "length"; a deadline is a length limit in time.
const char* api_finish_reason(engine::FinishReason reason) {
    switch (reason) {
        case engine::FinishReason::Stop:
            return "stop";
        case engine::FinishReason::Length:
        case engine::FinishReason::Deadline:
            return "length";
        case engine::FinishReason::Cancelled:
            return "abort";
        case engine::FinishReason::Error:
            return "error";
    }
    return "error";
}

ApiError refusal(const engine::SubmitResult& result) {
    switch (result.status) {
        case engine::SubmitStatus::QueueFull:
            return ApiError::queue_full("The server is busy: " + result.message);
        case engine::SubmitStatus::Draining:
            return ApiError::draining();
        default:
            return ApiError::invalid(result.message);
    }
}

}  // namespace

CompletionJob::CompletionJob(const JobContext& context, ParsedRequest request,
                             std::shared_ptr<ResponseChannel> channel, Clock::time_point arrival)
    : context_(context),
      request_(std::move(request)),
      channel_(std::move(channel)),
      arrival_(arrival),
      id_(new_id(request_.endpoint)),
      format_(request_.endpoint, id_, context.model_name, unix_seconds(), context.vocab,
              request_.top_logprobs >= 0),
      choices_(size_t(request_.n)) {}

void CompletionJob::start(std::vector<engine::GenerationRequest> choices) {
    const size_t prompt_size = choices.empty() ? 0 : choices[0].prompt.size();
    const auto deadline = choices.empty() ? Clock::time_point::max() : choices[0].deadline;
    channel_->on_disconnect([job = weak_from_this()] {
        if (auto self = job.lock()) self->cancel_all();
    });
    const std::string echo = echo_text(request_, context_.vocab);
    for (auto& choice : choices_) choice.output.text = echo;
    for (size_t i = 0; i < choices.size(); ++i) {
        const auto result =
            context_.engine.submit(std::move(choices[i]), callbacks_for(int32_t(i)));
        if (result.status != engine::SubmitStatus::Accepted) {
            abandoned_ = true;
            cancel_all();
            throw refusal(result);
        }
        choices_[i].engine_id = result.id;
        choices_[i].submitted = true;
    }
    usage_.prompt_tokens = int32_t(prompt_size);
    if (deadline != Clock::time_point::max())
        channel_->post_at(deadline, [job = weak_from_this()] {
            if (auto self = job.lock()) self->on_deadline();
        });
    if (!request_.stream) return;
    channel_->start_stream(200, "text/event-stream");
    last_write_ = Clock::now();
    if (request_.endpoint == Endpoint::Chat)
        for (size_t i = 0; i < choices_.size(); ++i)
            write_event(sse_event(format_.role_chunk(int32_t(i))));
    if (!echo.empty())
        for (size_t i = 0; i < choices_.size(); ++i)
            write_event(sse_event(format_.delta_chunk(int32_t(i), echo, {}, 0)));
    keep_alive();
}

void CompletionJob::write_event(std::string event) {
    last_write_ = Clock::now();
    channel_->write(std::move(event));
}

// While a stream waits (queued, or a long prefill), an SSE comment every `keepalive`.
void CompletionJob::keep_alive() {
    if (done()) return;
    if (Clock::now() - last_write_ >= context_.keepalive) write_event(": keep-alive\n\n");
    channel_->post_at(last_write_ + context_.keepalive, [job = weak_from_this()] {
        if (auto self = job.lock()) self->keep_alive();
    });
}

// The engine checks deadlines between steps; a step stuck in a worker must not hold the reply
// past it. Choices still running end here as the engine would end them, and are cancelled.
void CompletionJob::on_deadline() {
    if (done()) return;
    cancel_all();
    const auto now = Clock::now();
    for (size_t i = 0; i < choices_.size(); ++i) {
        if (choices_[i].finished) continue;
        engine::FinishEvent event;
        event.reason = engine::FinishReason::Deadline;
        event.prompt_tokens = usage_.prompt_tokens;
        event.cached_prompt_tokens = usage_.cached_tokens;
        event.completion_tokens = choices_[i].tokens_seen;
        on_finish(int32_t(i), {}, std::move(event), now);
    }
}

engine::RequestCallbacks CompletionJob::callbacks_for(int32_t index) {
    auto decoder = std::make_shared<ChoiceDecoder>(context_.vocab, request_.stop);
    const bool logprobs = request_.top_logprobs >= 0;
    engine::RequestCallbacks callbacks;
    callbacks.on_token = [self = shared_from_this(), decoder, index,
                          logprobs](const engine::TokenEvent& event) {
        TokenDelta delta;
        delta.time = Clock::now();
        const auto step = decoder->push(event.token, delta.text);
        if (logprobs) delta.token = event;
        self->channel_->post([self, index, delta = std::move(delta)]() mutable {
            self->on_token(index, std::move(delta));
        });
        return step == ChoiceDecoder::Step::Continue;
    };
    callbacks.on_finish = [self = shared_from_this(), decoder,
                           index](const engine::FinishEvent& event) {
        auto tail = decoder->finish();
        const auto time = Clock::now();
        self->channel_->post([self, index, tail = std::move(tail), event, time]() mutable {
            self->on_finish(index, std::move(tail), std::move(event), time);
        });
    };
    return callbacks;
}

void CompletionJob::on_token(int32_t index, TokenDelta delta) {
    if (abandoned_) return;
    auto& choice = choices_[size_t(index)];
    if (choice.finished) return;
    record_timing(choice, delta.time);
    std::vector<engine::TokenEvent> tokens;
    if (request_.top_logprobs >= 0) tokens.push_back(std::move(delta.token));
    if (request_.stream) {
        if (!delta.text.empty() || !tokens.empty())
            stream_text(index, delta.text, std::move(tokens));
        return;
    }
    choice.output.text += delta.text;
    for (auto& t : tokens) choice.output.tokens.push_back(std::move(t));
}

void CompletionJob::record_timing(ChoiceState& choice, Clock::time_point time) {
    if (choice.tokens_seen++ == 0) {
        choice.timings.has_first_token = true;
        choice.timings.time_to_first_token = seconds(time - arrival_);
    } else {
        choice.timings.inter_token.push_back(seconds(time - choice.last_token_time));
    }
    choice.last_token_time = time;
}

void CompletionJob::stream_text(int32_t index, const std::string& text,
                                std::vector<engine::TokenEvent> tokens) {
    auto& output = choices_[size_t(index)].output;
    const size_t offset = output.text.size();
    output.text += text;
    write_event(sse_event(format_.delta_chunk(index, text, tokens, offset)));
}

void CompletionJob::on_finish(int32_t index, std::string tail, engine::FinishEvent event,
                              Clock::time_point time) {
    if (abandoned_) return;
    auto& choice = choices_[size_t(index)];
    if (choice.finished) return;  // ended at its deadline already
    choice.finished = true;
    choice.output.finish_reason = api_finish_reason(event.reason);
    choice.timings.finish_reason = engine::finish_reason_name(event.reason);
    choice.timings.end_to_end = seconds(time - arrival_);
    context_.metrics.record(choice.timings);
    if (index == 0) {
        usage_.prompt_tokens = event.prompt_tokens;
        usage_.cached_tokens = event.cached_prompt_tokens;
    }
    usage_.completion_tokens += event.completion_tokens;
    if (event.reason == engine::FinishReason::Error) {
        error_ = event.error.empty() ? "generation failed" : event.error;
        retry_later_ = event.retry_later;
    }
    if (event.reason == engine::FinishReason::Cancelled) error_ = "The request was cancelled.";
    const bool ok = error_.empty();
    if (request_.stream && ok) {
        if (!tail.empty()) stream_text(index, tail, {});
        write_event(sse_event(format_.finish_chunk(index, choice.output.finish_reason)));
    } else {
        choice.output.text += tail;
    }
    if (++finished_count_ == choices_.size()) complete();
}

void CompletionJob::complete() {
    if (!error_.empty()) return fail(error_);
    if (request_.stream) {
        if (request_.include_usage) channel_->write(sse_event(format_.usage_chunk(usage_)));
        channel_->write(sse_done());
        channel_->end_stream();
    } else {
        std::vector<ChoiceOutput> outputs;
        for (auto& choice : choices_) outputs.push_back(std::move(choice.output));
        channel_->send({200, "application/json", dump_json(format_.whole(outputs, usage_)), {}});
    }
    log_request(200, choices_[0].timings.finish_reason);
}

// Errors after the reply has started can only be told inside the stream.
void CompletionJob::fail(const std::string& message) {
    const auto error = retry_later_ ? ApiError::unavailable(message + "; retry later")
                                    : ApiError::internal(message);
    if (request_.stream) {
        channel_->write("data: " + error.to_json() + "\n\n");
        channel_->write(sse_done());
        channel_->end_stream();
    } else {
        channel_->send({error.status(), "application/json", error.to_json(), error.headers()});
    }
    const bool cancelled = choices_[0].timings.finish_reason == "cancelled";
    log_request(cancelled ? 499 : error.status(), choices_[0].timings.finish_reason);
}

void CompletionJob::cancel_all() {
    for (const auto& choice : choices_)
        if (choice.submitted) context_.engine.cancel(choice.engine_id);
}

void CompletionJob::log_request(int status, const std::string& finish_reason) const {
    const auto& first = choices_[0].timings;
    const nlohmann::json line{
        {"event", "request"},
        {"id", id_},
        {"model", context_.model_name},
        {"endpoint", request_.endpoint == Endpoint::Chat ? "chat" : "completion"},
        {"status", status},
        {"n", request_.n},
        {"stream", request_.stream},
        {"prompt_tokens", usage_.prompt_tokens},
        {"completion_tokens", usage_.completion_tokens},
        {"cached_tokens", usage_.cached_tokens},
        {"ttft_s",
         first.has_first_token ? nlohmann::json(first.time_to_first_token) : nlohmann::json()},
        {"e2e_s", first.end_to_end},
        {"finish_reason", finish_reason},
        {"user", request_.user}};
    std::fprintf(stderr, "%s\n", dump_json(line).c_str());
}

}  // namespace ms::server
