// libFuzzer target for the matcher and the token masks. Input: a regex, a NUL, then bytes
// that say which tokens to take. Every pattern compiles or is refused with RegexError; for a
// compiled one, the mask of each state reached must equal trying every token of a small
// vocabulary on a copy of the matcher, and accepting a token must agree with the mask.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/regex.h"
#include "grammar/token_mask.h"

namespace {

// Every single byte, some pairs and longer pieces, and one end token (id 0).
std::shared_ptr<const ms::grammar::VocabIndex> small_vocab() {
    std::vector<std::string> tokens = {""};
    for (int b = 0; b < 256; ++b) tokens.emplace_back(1, char(b));
    for (const char* t : {"ab",   "abc",  "a1",       "12", "123", "\"", "\",", "{\"", "..", "é",
                          "日本", "\xe6", "\x97\xa5", " a", "  ",  "-",  "--",  "a-z", "[]", "\\d"})
        tokens.emplace_back(t);
    return std::make_shared<const ms::grammar::VocabIndex>(tokens, std::vector<int32_t>{0});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto vocab = small_vocab();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t split = input.find('\0');
    const std::string_view pattern = input.substr(0, split);
    const std::string_view steps = split == std::string_view::npos ? "" : input.substr(split + 1);
    std::shared_ptr<ms::grammar::Automaton> automaton;
    ms::grammar::RegexOptions options;
    options.max_repeat = 50;
    try {
        automaton = std::make_shared<ms::grammar::Automaton>(
            ms::grammar::compile_regex(pattern, options), 5000);
    } catch (const ms::grammar::RegexError&) {
        return 0;
    }
    try {
        ms::grammar::TokenMasker masker(vocab, automaton);
        ms::grammar::Matcher matcher(automaton);
        std::vector<uint64_t> mask(vocab->mask_words());
        for (char step : steps) {
            masker.fill_mask(matcher, mask);
            std::vector<int32_t> allowed;
            for (int32_t t = 0; t < vocab->n_tokens(); ++t) {
                ms::grammar::Matcher copy = matcher;
                const bool expected = vocab->is_end(t) ? matcher.can_finish()
                                                       : !vocab->token_bytes(t).empty() &&
                                                             copy.accept(vocab->token_bytes(t));
                if (expected != ms::grammar::mask_allows(mask, t)) __builtin_trap();
                if (expected) allowed.push_back(t);
            }
            if (allowed.empty()) break;
            const int32_t token = allowed[uint8_t(step) % allowed.size()];
            if (vocab->is_end(token)) break;
            if (!masker.accept_token(matcher, token)) __builtin_trap();
        }
    } catch (const std::length_error&) {
        // The automaton's state limit: the server fails such a request.
    }
    return 0;
}
