#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>
#include <utility>

#include "tokenizer/utf8.h"

namespace ms::tok {
namespace {

// The regular expressions of llama.cpp's llm_tokenizer_bpe, by pre-tokenizer.
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kDefaultPunctuation = R"([\p{P}\$\+<=>\^~\|]+)";
constexpr std::string_view kEachDigit = R"(\p{N})";
constexpr std::string_view kDigitRuns = R"(\p{N}+)";
constexpr std::string_view kThreeAsciiDigits = R"([0-9][0-9][0-9])";

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
    for (std::string_view n : names) {
        if (name == n) return true;
    }
    return false;
}

// PCRE2's \s leaves out U+0085 (NEL), which llama.cpp and Hugging Face count as white space.
std::string with_nel_as_space(std::string_view pattern) {
    std::string out;
    bool in_class = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char e = pattern[++i];
            if (e == 's') {
                out += in_class ? R"(\s\x{85})" : R"([\s\x{85}])";
            } else if (e == 'S' && !in_class) {
                out += R"([^\s\x{85}])";
            } else {
                out += c;
                out += e;
            }
            continue;
        }
        if (c == '[') in_class = true;
        if (c == ']') in_class = false;
        out += c;
    }
    return out;
}

struct MatchDataFree {
    void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
using MatchData = std::unique_ptr<pcre2_match_data, MatchDataFree>;

bool is_surrogate(uint32_t cp) {
    return cp >= 0xD800 && cp <= 0xDFFF;
}

}  // namespace

std::optional<PreTokenizerSpec> pre_tokenizer_spec(std::string_view name) {
    const auto spec = [](std::initializer_list<std::string_view> patterns) {
        PreTokenizerSpec s;
        for (std::string_view p : patterns) s.patterns.emplace_back(p);
        return s;
    };
    if (name.empty() || name == "default") {
        return spec({kDefaultPunctuation, kGpt2, kDigitRuns, kThreeAsciiDigits});
    }
    if (is_one_of(name, {"gpt-2", "phi-2", "mpt", "olmo"})) return spec({kGpt2});
    if (is_one_of(name, {"smollm", "starcoder", "refact", "codeshell"})) {
        return spec({kEachDigit, kGpt2});
    }
    if (is_one_of(name, {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"})) {
        return spec({kQwen2});
    }
    if (is_one_of(name, {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"})) {
        PreTokenizerSpec s = spec({kLlama3});
        s.ignore_merges = true;
        s.add_bos = true;
        return s;
    }
    if (is_one_of(name, {"dbrx", "smaug-bpe"})) return spec({kLlama3});
    return std::nullopt;
}

class PreTokenizer::Pattern {
public:
    explicit Pattern(const std::string& source) {
        const std::string pattern = with_nel_as_space(source);
        int error = 0;
        PCRE2_SIZE error_offset = 0;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
        if (code_ == nullptr) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error, message, sizeof message);
            throw std::runtime_error("bad pre-tokenizer regex '" + source +
                                     "': " + reinterpret_cast<const char*>(message));
        }
        pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter
    }
    ~Pattern() { pcre2_code_free(code_); }
    Pattern(const Pattern&) = delete;
    Pattern& operator=(const Pattern&) = delete;

    // Appends the [begin, end) spans of the matches in subject[begin, end) and of the runs
    // between them. Lookahead sees only the span, as in llama.cpp.
    void split(std::string_view subject, std::pair<size_t, size_t> span,
               std::vector<std::pair<size_t, size_t>>& out) const {
        const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data() + span.first);
        const size_t length = span.second - span.first;
        const MatchData match(pcre2_match_data_create_from_pattern(code_, nullptr));
        size_t pos = 0;
        size_t unmatched_from = 0;
        while (pos < length) {
            const int rc =
                pcre2_match(code_, text, length, pos, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                throw std::runtime_error("pre-tokenizer regex failed with PCRE2 error " +
                                         std::to_string(rc));
            }
            const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(match.get());
            if (bounds[1] == bounds[0]) {  // an empty match: step over one character
                pos = bounds[0] + utf8::sequence_length(text[bounds[0]]);
                continue;
            }
            if (bounds[0] > unmatched_from) {
                out.emplace_back(span.first + unmatched_from, span.first + bounds[0]);
            }
            out.emplace_back(span.first + bounds[0], span.first + bounds[1]);
            pos = unmatched_from = bounds[1];
        }
        if (unmatched_from < length) out.emplace_back(span.first + unmatched_from, span.second);
    }

private:
    pcre2_code* code_ = nullptr;
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& patterns) {
    for (const std::string& p : patterns) patterns_.push_back(std::make_unique<Pattern>(p));
}
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
    // canonical: llama.cpp's re-encoding of the text, from which words are cut.
    // matchable: the same with surrogates as U+FFFD (same length), which PCRE2 would reject.
    std::string canonical;
    std::string matchable;
    for (uint32_t cp : utf8::decode_lenient(text)) {
        utf8::append(canonical, cp);
        utf8::append(matchable, is_surrogate(cp) ? utf8::kReplacementChar : cp);
    }
    std::vector<std::pair<size_t, size_t>> spans;
    if (!canonical.empty()) spans.emplace_back(0, canonical.size());
    for (const auto& pattern : patterns_) {
        std::vector<std::pair<size_t, size_t>> pieces;
        for (const auto& span : spans) pattern->split(matchable, span, pieces);
        spans.swap(pieces);
    }
    std::vector<std::string> words;
    words.reserve(spans.size());
    for (const auto& [begin, end] : spans) words.push_back(canonical.substr(begin, end - begin));
    return words;
}

}  // namespace ms::tok
