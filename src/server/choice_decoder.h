// Turns one choice's generated tokens into the text the client sees: streaming detokenization,
// stop strings. Runs on the engine thread inside on_token, because only there can it end the
// request with reason Stop (by returning false). End-of-generation tokens never reach it: the
// engine ends the request on them before on_token (unless ignore_eos, when they are text).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "server/stop_matcher.h"
#include "tokenizer/vocab.h"

namespace ms::server {

class ChoiceDecoder {
public:
    ChoiceDecoder(const tok::Vocab& vocab, std::vector<std::string> stops);

    enum class Step { Continue, StopString };
    // Appends the text now safe to send to text_out. StopString ends generation.
    Step push(int32_t token, std::string& text_out);
    // The rest of the text once generation has ended.
    std::string finish();

private:
    tok::StreamingDetokenizer detokenizer_;
    StopMatcher stop_;
};

}  // namespace ms::server
