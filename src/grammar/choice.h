// A choice list (vLLM's guided_choice): the output is exactly one of the given strings.
#pragma once
#include <string>
#include <vector>

#include "grammar/grammar.h"

namespace ms::grammar {

// Throws std::invalid_argument for an empty list.
Grammar compile_choice(const std::vector<std::string>& choices);

}  // namespace ms::grammar
