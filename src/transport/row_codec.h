// How rows of activations travel between processes: as float32, or as int8 with outliers. One
// codec for every wire that carries activations (the expert exchange, the unit messages), so
// there is one quantiser to measure and to harden.
//
// An int8 row of dim values is, in host byte order,
//   u8 n_outliers | n_outliers x u16 index (u32 when dim > 65536), ascending |
//   n_outliers x f32 value | ceil(dim / kInt8Block) x f32 scale | dim x i8 q
// and decodes to x[i] = q[i] * scale[i / kInt8Block], except at the outlier indices, which carry
// their exact value. Why outliers: Llama-family residual streams have a few massive channels
// (100x the rest of the row); a block scaled to one of them would round its neighbours to zero.
// So the up to kMaxOutliers values above kOutlierRatio x the row's RMS travel exactly and the
// blocks' scales (max|x| / 127) are taken without them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace ms::transport {

enum class RowFormat : uint32_t { float32 = 0, int8 = 1 };

constexpr int64_t kInt8Block = 32;
constexpr size_t kMaxOutliers = 8;
constexpr float kOutlierRatio = 4.0f;

// Thrown for rows that are malformed or run past the bytes given.
class MalformedRows : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws MalformedRows for a value that names no format.
RowFormat row_format_from_wire(uint32_t value);

// Appends n_rows rows of dim values (rows.size() == n_rows * dim) to out.
void encode_rows(RowFormat format, int64_t n_rows, int64_t dim, std::span<const float> rows,
                 std::vector<std::byte>& out);

// Decodes n_rows rows of dim values from the front of `in` into out (resized to n_rows x dim)
// and returns the bytes they took. `in` is untrusted: every count and index is checked before it
// is used, and nothing is allocated beyond what the bytes could hold.
size_t decode_rows(RowFormat format, int64_t dim, uint64_t n_rows, std::span<const std::byte> in,
                   std::vector<float>& out);

}  // namespace ms::transport
