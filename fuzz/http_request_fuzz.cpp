// libFuzzer target: raw bytes as an HTTP request, through the server's request path without
// a model: Beast's parser, JSON body validation, prompt building and the translation into
// GenerationRequests, then stop-string matching over the prompt's text. Every input must
// either be rejected with ApiError or yield requests the engine would accept; anything else
// (a crash, a sanitizer report, another exception type, a broken invariant) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../tests/cpp/server/byte_vocab.h"
#include "server/api_error.h"
#include "server/choice_decoder.h"
#include "server/http_parse.h"
#include "server/prompt_builder.h"
#include "server/request_parser.h"

namespace {

constexpr size_t max_body_bytes = 64 * 1024;
constexpr int32_t n_ctx = 512;

void check_generation_requests(const ms::server::ParsedRequest& parsed,
                               const ms::tok::Vocab& vocab) {
    const auto prompt = ms::server::build_prompt(
        parsed, vocab, ms::tok::ChatTemplate{ms::tok::ChatFormat::ChatML, {}});
    const auto choices = ms::server::make_generation_requests(parsed, prompt, n_ctx, 1);
    if (choices.size() != size_t(parsed.n)) __builtin_trap();
    for (const auto& choice : choices) {
        choice.sampling.validate();  // the parser must have caught every bad value
        if (choice.max_tokens < 1 || choice.prompt.size() + choice.max_tokens > size_t(n_ctx))
            __builtin_trap();
        for (const int32_t id : choice.prompt)
            if (id < 0 || id >= vocab.n_tokens()) __builtin_trap();
        for (const auto& [id, bias] : choice.sampling.logit_bias)
            if (id >= vocab.n_tokens()) __builtin_trap();
    }
    if (!parsed.echo && !ms::server::echo_text(parsed, vocab).empty()) __builtin_trap();
    // Replays the prompt as if generated (up to an end-of-generation token, where the engine
    // would end it): no stop string may reach the client.
    ms::server::ChoiceDecoder decoder(vocab, parsed.stop);
    std::string text;
    for (const int32_t id : prompt)
        if (vocab.is_end_of_generation(id) ||
            decoder.push(id, text) != ms::server::ChoiceDecoder::Step::Continue)
            break;
    text += decoder.finish();
    for (const auto& stop : parsed.stop)
        if (text.find(stop) != std::string::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ms::server::testing::ByteVocab vocab;
    try {
        const auto request = ms::server::parse_http_request(
            std::string_view(reinterpret_cast<const char*>(data), size), max_body_bytes);
        const auto endpoint = request.target.find("chat") != std::string::npos
                                  ? ms::server::Endpoint::Chat
                                  : ms::server::Endpoint::Completion;
        check_generation_requests(ms::server::parse_request(endpoint, request.body), vocab);
    } catch (const ms::server::ApiError&) {
        // Rejected requests are the expected outcome for most mutations.
    }
    return 0;
}
