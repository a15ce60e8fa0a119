#include "grammar/integer_range.h"

#include <string>
#include <vector>

namespace ms::grammar {
namespace {

Symbol digits(GrammarBuilder& b, char lo, char hi) {
    return b.bytes(ByteSet::range(uint8_t(lo), uint8_t(hi)));
}

// Numbers written with exactly lo.size() == hi.size() digits, from lo to hi (digit strings,
// possibly with leading zeros: they are the tail of a longer number).
Symbol same_length(GrammarBuilder& b, const std::string& lo, const std::string& hi) {
    if (lo.empty()) return b.empty();
    const std::string rest_lo = lo.substr(1), rest_hi = hi.substr(1);
    if (lo[0] == hi[0]) return b.seq({digits(b, lo[0], lo[0]), same_length(b, rest_lo, rest_hi)});
    const std::string zeros(rest_lo.size(), '0'), nines(rest_lo.size(), '9');
    std::vector<Sequence> alternatives;
    // A bound whose tail is all 0s (or 9s) joins the middle block of free digits.
    char mid_lo = lo[0], mid_hi = hi[0];
    if (rest_lo != zeros) {
        alternatives.push_back({digits(b, lo[0], lo[0]), same_length(b, rest_lo, nines)});
        ++mid_lo;
    }
    if (rest_hi != nines) {
        alternatives.push_back({digits(b, hi[0], hi[0]), same_length(b, zeros, rest_hi)});
        --mid_hi;
    }
    if (mid_lo <= mid_hi) {
        Sequence block{digits(b, mid_lo, mid_hi)};
        for (size_t i = 0; i < rest_lo.size(); ++i) block.push_back(digits(b, '0', '9'));
        alternatives.push_back(block);
    }
    return b.alt(alternatives, "digits");
}

uint64_t largest_with_digits(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v * 10 + 9;
    return v;
}

constexpr uint64_t kUnbounded = UINT64_MAX;

// Non-negative magnitudes in [lo, hi] (hi kUnbounded: no limit), without leading zeros.
Symbol magnitude_range(GrammarBuilder& b, uint64_t lo, uint64_t hi) {
    std::vector<Sequence> alternatives;
    const bool bounded = hi != kUnbounded;
    const size_t lo_digits = std::to_string(lo).size();
    const size_t hi_digits = bounded ? std::to_string(hi).size() : lo_digits;
    for (size_t n = lo_digits; n <= hi_digits; ++n) {
        const uint64_t from = n == lo_digits ? lo : largest_with_digits(n - 1) + 1;
        const uint64_t to = bounded && n == hi_digits ? hi : largest_with_digits(n);
        alternatives.push_back({same_length(b, std::to_string(from), std::to_string(to))});
    }
    if (!bounded) {  // any number with more digits than lo
        Sequence longer{digits(b, '1', '9')};
        for (size_t i = 0; i < lo_digits; ++i) longer.push_back(digits(b, '0', '9'));
        longer.push_back(b.star(digits(b, '0', '9')));
        alternatives.push_back(longer);
    }
    return alternatives.size() == 1 ? b.seq(alternatives[0]) : b.alt(alternatives, "int_range");
}

}  // namespace

Symbol integer_range(GrammarBuilder& b, std::optional<int64_t> lo, std::optional<int64_t> hi) {
    if (lo) lo = std::max(*lo, -kMaxBoundMagnitude);
    if (hi) hi = std::min(*hi, kMaxBoundMagnitude);
    if (lo && hi && *lo > *hi) throw GrammarError("empty integer range");
    std::vector<Sequence> alternatives;
    if (!hi || *hi >= 0)
        alternatives.push_back({magnitude_range(b, uint64_t(lo ? std::max<int64_t>(*lo, 0) : 0),
                                                hi ? uint64_t(*hi) : kUnbounded)});
    if (!lo || *lo < 0) {
        const uint64_t from = hi && *hi < 0 ? uint64_t(-*hi) : 1;
        const uint64_t to = lo ? uint64_t(-*lo) : kUnbounded;
        alternatives.push_back({b.literal("-"), magnitude_range(b, from, to)});
    }
    return alternatives.size() == 1 ? b.seq(alternatives[0]) : b.alt(alternatives, "integer");
}

}  // namespace ms::grammar
