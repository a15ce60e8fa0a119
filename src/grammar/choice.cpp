#include "grammar/choice.h"

namespace ms::grammar {

Grammar compile_choice(const std::vector<std::string>& choices) {
    if (choices.empty()) throw std::invalid_argument("a choice list needs at least one choice");
    GrammarBuilder b;
    std::vector<Sequence> alternatives;
    for (const auto& c : choices) alternatives.push_back({b.literal(c)});
    return std::move(b).build(b.alt(alternatives, "choice"));
}

}  // namespace ms::grammar
