#include "transport/exchange_wire.h"

#include <cstring>
#include <string>

namespace ms::transport {
namespace {

constexpr uint32_t kMagic = 0x4558534d;         // "MSXE" read as little-endian bytes
constexpr uint32_t kFailureMagic = 0x4658534d;  // "MSXF"

struct WireHeader {
    uint32_t magic;
    uint32_t row_format;
    uint32_t n_rows;
    uint32_t n_pairs;
    uint64_t dim;
};
static_assert(sizeof(WireHeader) == 24);

[[noreturn]] void throw_malformed(const std::string& what) {
    throw TransportError(TransportError::Kind::invalid_argument, -1,
                         "expert exchange: malformed message: " + what);
}

}  // namespace

Bytes encode_exchange(RowFormat format, int64_t dim, std::span<const float> rows,
                      std::span<const RowPair> pairs) {
    const size_t n_rows = rows.size() / size_t(dim);
    const WireHeader header{kMagic, uint32_t(format), uint32_t(n_rows), uint32_t(pairs.size()),
                            uint64_t(dim)};
    Bytes bytes(sizeof header);
    std::memcpy(bytes.data(), &header, sizeof header);
    encode_rows(format, int64_t(n_rows), dim, rows, bytes);
    const size_t pairs_at = bytes.size();
    bytes.resize(pairs_at + pairs.size_bytes());
    if (!pairs.empty()) std::memcpy(bytes.data() + pairs_at, pairs.data(), pairs.size_bytes());
    return bytes;
}

Bytes encode_exchange_failure(const std::string& why) {
    Bytes bytes(sizeof kFailureMagic + why.size());
    std::memcpy(bytes.data(), &kFailureMagic, sizeof kFailureMagic);
    if (!why.empty()) std::memcpy(bytes.data() + sizeof kFailureMagic, why.data(), why.size());
    return bytes;
}

ExchangeMessage decode_exchange(std::span<const std::byte> bytes, int64_t expected_dim) {
    uint32_t magic = 0;
    if (bytes.size() >= sizeof magic) std::memcpy(&magic, bytes.data(), sizeof magic);
    if (magic == kFailureMagic)
        throw ExchangeRefused(
            std::string(reinterpret_cast<const char*>(bytes.data()) + sizeof magic,
                        bytes.size() - sizeof magic));
    WireHeader header{};
    if (bytes.size() < sizeof header)
        throw_malformed(std::to_string(bytes.size()) + " bytes is shorter than the header");
    std::memcpy(&header, bytes.data(), sizeof header);
    if (header.magic != kMagic) throw_malformed("bad magic");
    if (header.dim != uint64_t(expected_dim))
        throw_malformed("rows of " + std::to_string(header.dim) + " values, expected " +
                        std::to_string(expected_dim));
    ExchangeMessage message;
    message.n_rows = header.n_rows;
    size_t rows_size = 0;
    try {
        rows_size = decode_rows(row_format_from_wire(header.row_format), expected_dim,
                                header.n_rows, bytes.subspan(sizeof header), message.rows);
    } catch (const MalformedRows& e) {
        throw_malformed(e.what());
    }
    const std::span<const std::byte> pairs = bytes.subspan(sizeof header + rows_size);
    if (pairs.size() != header.n_pairs * sizeof(RowPair))
        throw_malformed("size " + std::to_string(bytes.size()) + " does not match its header");
    message.pairs.resize(header.n_pairs);
    if (header.n_pairs) std::memcpy(message.pairs.data(), pairs.data(), pairs.size());
    for (const RowPair& pair : message.pairs)
        if (pair.row >= header.n_rows)
            throw_malformed("pair names row " + std::to_string(pair.row) + " of " +
                            std::to_string(header.n_rows));
    return message;
}

}  // namespace ms::transport
