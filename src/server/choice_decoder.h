// Turns one choice's generated tokens into the text the client sees: streaming detokenization,
// stop strings, end-of-generation tokens. Runs on the engine thread inside on_token, because
// only there can it end the request with reason Stop (by returning false).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "server/stop_matcher.h"
#include "tokenizer/vocab.h"

namespace ms::server {

class ChoiceDecoder {
public:
    ChoiceDecoder(const tok::Vocab& vocab, std::vector<std::string> stops, bool ignore_eos);

    enum class Step { Continue, StopString, EndOfGeneration };
    // Appends the text now safe to send to text_out. Anything but Continue ends generation;
    // an end-of-generation token adds no text.
    Step push(int32_t token, std::string& text_out);
    // The rest of the text once generation has ended.
    std::string finish();

private:
    const tok::Vocab& vocab_;
    tok::StreamingDetokenizer detokenizer_;
    StopMatcher stop_;
    bool ignore_eos_;
};

}  // namespace ms::server
