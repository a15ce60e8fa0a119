// Integers between two bounds as a grammar over their decimal digits (no leading zeros, "-"
// for negatives), the way one writes a range as a regex: split by digit count, then by the
// first digit that differs between the bounds.
#pragma once
#include <cstdint>
#include <optional>

#include "grammar/grammar.h"

namespace ms::grammar {

// Largest magnitude a bound may have; bounds beyond it are clamped to it (which only narrows
// what can be generated, so the output stays within the schema's bounds).
inline constexpr int64_t kMaxBoundMagnitude = 999'999'999'999'999'999;

// The integers in [lo, hi]; nullopt on a side means unbounded there. Requires lo <= hi.
Symbol integer_range(GrammarBuilder& b, std::optional<int64_t> lo, std::optional<int64_t> hi);

}  // namespace ms::grammar
