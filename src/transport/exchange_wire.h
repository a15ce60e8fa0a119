// The wire format of expert dispatch and combine messages. Every message is
//   header: u32 magic "MSXE", u32 row_format (0 = float32, 1 = int8), u32 n_rows, u32 n_pairs,
//           u64 dim
//   rows:   n_rows rows of dim values in the row format (transport/row_codec.h)
//   pairs:  n_pairs of (u32 row, i32 expert)
// in host byte order. Dispatch carries the distinct token rows a rank needs and one pair per
// (token, expert) route; combine carries one result row per dispatched pair, in pair order.
#pragma once
#include <cstdint>
#include <span>
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

Bytes encode_exchange(RowFormat format, int64_t dim, std::span<const float> rows,
                      std::span<const RowPair> pairs);
// Throws TransportError (invalid_argument) naming what is wrong with a malformed message.
ExchangeMessage decode_exchange(std::span<const std::byte> bytes, int64_t expected_dim);

}  // namespace ms::transport
