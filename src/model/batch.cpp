#include <algorithm>

#include "model/unit.h"

namespace ms::model {

int64_t Batch::n_logit_rows() const {
    return std::count(want_logits.begin(), want_logits.end(), uint8_t{1});
}

void Batch::add(int32_t token, int32_t position, int32_t seq_index, bool logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(seq_index);
    want_logits.push_back(logits ? 1 : 0);
}

}  // namespace ms::model
