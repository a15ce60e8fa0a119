#include "server/choice_decoder.h"

namespace ms::server {

ChoiceDecoder::ChoiceDecoder(const tok::Vocab& vocab, std::vector<std::string> stops)
    : detokenizer_(vocab), stop_(std::move(stops)) {}

ChoiceDecoder::Step ChoiceDecoder::push(int32_t token, std::string& text_out) {
    if (stop_.matched()) return Step::StopString;
    text_out += stop_.push(detokenizer_.push(token));
    return stop_.matched() ? Step::StopString : Step::Continue;
}

std::string ChoiceDecoder::finish() {
    std::string rest = stop_.push(detokenizer_.flush());
    return rest + stop_.flush();
}

}  // namespace ms::server
