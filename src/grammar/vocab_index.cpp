// VocabIndex from a model's vocabulary: kept apart so the rest of the module needs no tokenizer.
#include "grammar/token_mask.h"
#include "tokenizer/vocab.h"

namespace ms::grammar {

std::shared_ptr<const VocabIndex> VocabIndex::from_vocab(const tok::Vocab& vocab) {
    std::vector<std::string> bytes(size_t(vocab.n_tokens()));
    std::vector<int32_t> ends;
    for (int32_t id = 0; id < vocab.n_tokens(); ++id) {
        if (vocab.is_end_of_generation(id))
            ends.push_back(id);
        else
            bytes[size_t(id)] = vocab.token_to_piece(id, false);
    }
    return std::make_shared<const VocabIndex>(std::move(bytes), std::move(ends));
}

}  // namespace ms::grammar
