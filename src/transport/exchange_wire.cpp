#include "transport/exchange_wire.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace ms::transport {
namespace {

constexpr uint32_t kMagic = 0x4558534d;  // "MSXE" read as little-endian bytes

struct WireHeader {
    uint32_t magic;
    uint32_t row_format;
    uint32_t n_rows;
    uint32_t n_pairs;
    uint64_t dim;
};
static_assert(sizeof(WireHeader) == 24);

size_t row_bytes(RowFormat format, int64_t dim) {
    return format == RowFormat::int8 ? sizeof(float) + size_t(dim) : size_t(dim) * sizeof(float);
}

[[noreturn]] void throw_malformed(const std::string& what) {
    throw TransportError(TransportError::Kind::invalid_argument, -1,
                         "expert exchange: malformed message: " + what);
}

// Symmetric per-row quantisation: q = round(x / scale), scale = max|x| / 127.
void put_int8_row(const float* row, int64_t dim, std::byte* out) {
    float max_abs = 0.0f;
    for (int64_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(row[i]));
    const float scale = max_abs / 127.0f;
    const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
    std::memcpy(out, &scale, sizeof scale);
    auto* q = reinterpret_cast<int8_t*>(out + sizeof scale);
    for (int64_t i = 0; i < dim; ++i)
        q[i] = int8_t(std::clamp(std::lround(row[i] * inverse), -127L, 127L));
}

void get_int8_row(const std::byte* in, int64_t dim, float* row) {
    float scale = 0.0f;
    std::memcpy(&scale, in, sizeof scale);
    const auto* q = reinterpret_cast<const int8_t*>(in + sizeof scale);
    for (int64_t i = 0; i < dim; ++i) row[i] = float(q[i]) * scale;
}

}  // namespace

Bytes encode_exchange(RowFormat format, int64_t dim, std::span<const float> rows,
                      std::span<const RowPair> pairs) {
    const size_t n_rows = rows.size() / size_t(dim);
    const WireHeader header{kMagic, uint32_t(format), uint32_t(n_rows), uint32_t(pairs.size()),
                            uint64_t(dim)};
    const size_t rows_size = n_rows * row_bytes(format, dim);
    Bytes bytes(sizeof header + rows_size + pairs.size_bytes());
    std::byte* out = bytes.data();
    std::memcpy(out, &header, sizeof header);
    out += sizeof header;
    if (format == RowFormat::float32) {
        if (rows_size) std::memcpy(out, rows.data(), rows_size);
    } else {
        for (size_t r = 0; r < n_rows; ++r)
            put_int8_row(rows.data() + r * size_t(dim), dim, out + r * row_bytes(format, dim));
    }
    out += rows_size;
    if (!pairs.empty()) std::memcpy(out, pairs.data(), pairs.size_bytes());
    return bytes;
}

ExchangeMessage decode_exchange(std::span<const std::byte> bytes, int64_t expected_dim) {
    WireHeader header{};
    if (bytes.size() < sizeof header)
        throw_malformed(std::to_string(bytes.size()) + " bytes is shorter than the header");
    std::memcpy(&header, bytes.data(), sizeof header);
    if (header.magic != kMagic) throw_malformed("bad magic");
    if (header.row_format > uint32_t(RowFormat::int8))
        throw_malformed("unknown row format " + std::to_string(header.row_format));
    if (header.dim != uint64_t(expected_dim))
        throw_malformed("rows of " + std::to_string(header.dim) + " values, expected " +
                        std::to_string(expected_dim));
    const auto format = RowFormat(header.row_format);
    const size_t rows_size = size_t(header.n_rows) * row_bytes(format, expected_dim);
    if (bytes.size() != sizeof header + rows_size + header.n_pairs * sizeof(RowPair))
        throw_malformed("size " + std::to_string(bytes.size()) + " does not match its header");

    ExchangeMessage message;
    message.n_rows = header.n_rows;
    message.rows.resize(size_t(header.n_rows) * size_t(expected_dim));
    const std::byte* in = bytes.data() + sizeof header;
    if (format == RowFormat::float32) {
        if (rows_size) std::memcpy(message.rows.data(), in, rows_size);
    } else {
        for (size_t r = 0; r < header.n_rows; ++r)
            get_int8_row(in + r * row_bytes(format, expected_dim), expected_dim,
                         message.rows.data() + r * size_t(expected_dim));
    }
    message.pairs.resize(header.n_pairs);
    if (header.n_pairs)
        std::memcpy(message.pairs.data(), in + rows_size, header.n_pairs * sizeof(RowPair));
    for (const RowPair& pair : message.pairs)
        if (pair.row >= header.n_rows)
            throw_malformed("pair names row " + std::to_string(pair.row) + " of " +
                            std::to_string(header.n_rows));
    return message;
}

}  // namespace ms::transport
