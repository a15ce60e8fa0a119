// The wire format of expert dispatch and combine messages. Every message is
//   header: u32 magic "MSXE", u32 row_format (0 = float32, 1 = int8), u32 n_rows, u32 n_pairs,
//           u64 dim
//   rows:   n_rows rows of dim values in the row format (transport/row_codec.h)
//   pairs:  n_pairs of (u32 row, i32 expert)
// in host byte order. Dispatch carries the distinct token rows a rank needs and one pair per
// (token, expert) route; combine carries one result row per dispatched pair, in pair order.
// A rank that cannot serve an exchange answers with a failure instead:
//   u32 magic "MSXF", then why, as text (the rest of the message).
#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "transport/row_codec.h"
#include "transport/transport.h"

namespace ms::transport {

struct RowPair {
    uint32_t row;
    int32_t expert;
};

struct ExchangeMessage {
    int64_t n_rows = 0;
    std::vector<float> rows;  // n_rows x dim, decoded
    std::vector<RowPair> pairs;
};

// Thrown by decode_exchange for a failure message: what() is the serving rank's reason.
class ExchangeRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

Bytes encode_exchange(RowFormat format, int64_t dim, std::span<const float> rows,
                      std::span<const RowPair> pairs);
Bytes encode_exchange_failure(const std::string& why);
// Throws TransportError (invalid_argument) naming what is wrong with a malformed message, and
// ExchangeRefused for a failure message.
ExchangeMessage decode_exchange(std::span<const std::byte> bytes, int64_t expected_dim);

}  // namespace ms::transport
