#include "transport/row_codec.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

namespace ms::transport {
namespace {

using Bytes = std::vector<std::byte>;

[[noreturn]] void fail(const std::string& why) {
    throw MalformedRows("malformed rows: " + why);
}

bool wide_indexes(int64_t dim) {
    return dim > 65536;
}
// Written so that no dim (an untrusted header field) overflows.
int64_t n_blocks(int64_t dim) {
    return dim / kInt8Block + (dim % kInt8Block != 0 ? 1 : 0);
}

// The fewest bytes a row can take (an int8 row without outliers).
size_t min_row_bytes(RowFormat format, int64_t dim) {
    if (format == RowFormat::float32) return size_t(dim) * sizeof(float);
    return sizeof(uint8_t) + size_t(n_blocks(dim)) * sizeof(float) + size_t(dim);
}

template <typename T>
void append(Bytes& out, T value) {
    const size_t at = out.size();
    out.resize(at + sizeof value);
    std::memcpy(out.data() + at, &value, sizeof value);
}

class RowReader {
public:
    explicit RowReader(std::span<const std::byte> in) : in_(in) {}
    const std::byte* take(size_t n) {
        if (n > in_.size() - offset_) fail("a row runs past the end");
        const std::byte* p = in_.data() + offset_;
        offset_ += n;
        return p;
    }
    template <typename T>
    T get() {
        T value;
        std::memcpy(&value, take(sizeof value), sizeof value);
        return value;
    }
    size_t offset() const { return offset_; }

private:
    std::span<const std::byte> in_;
    size_t offset_ = 0;
};

// The indexes, ascending, of the row's largest values above kOutlierRatio x its RMS.
std::vector<uint32_t> find_outliers(const float* row, int64_t dim) {
    double sum_squares = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum_squares += double(row[i]) * double(row[i]);
    const double threshold =
        kOutlierRatio * std::sqrt(sum_squares / double(std::max(dim, int64_t{1})));
    std::vector<uint32_t> outliers;
    for (int64_t i = 0; i < dim; ++i)
        if (std::fabs(row[i]) > threshold) outliers.push_back(uint32_t(i));
    if (outliers.size() > kMaxOutliers) {
        const auto larger = [row](uint32_t a, uint32_t b) {
            return std::fabs(row[a]) > std::fabs(row[b]);
        };
        std::nth_element(outliers.begin(), outliers.begin() + kMaxOutliers, outliers.end(), larger);
        outliers.resize(kMaxOutliers);
    }
    std::sort(outliers.begin(), outliers.end());
    return outliers;
}

void put_int8_row(const float* row, int64_t dim, Bytes& out) {
    const std::vector<uint32_t> outliers = find_outliers(row, dim);
    std::vector<float> rest(row, row + dim);
    append(out, uint8_t(outliers.size()));
    for (uint32_t i : outliers) {
        if (wide_indexes(dim))
            append(out, i);
        else
            append(out, uint16_t(i));
        rest[i] = 0.0f;
    }
    for (uint32_t i : outliers) append(out, row[i]);
    std::vector<float> scales(size_t(n_blocks(dim)), 0.0f);
    for (int64_t i = 0; i < dim; ++i) {
        float& scale = scales[size_t(i / kInt8Block)];
        scale = std::max(scale, std::fabs(rest[i]) / 127.0f);
    }
    for (float scale : scales) append(out, scale);
    const size_t at = out.size();
    out.resize(at + size_t(dim));
    auto* q = reinterpret_cast<int8_t*>(out.data() + at);
    for (int64_t i = 0; i < dim; ++i) {
        const float scale = scales[size_t(i / kInt8Block)];
        const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
        q[i] = int8_t(std::clamp(std::lround(rest[i] * inverse), -127L, 127L));
    }
}

void get_int8_row(RowReader& r, int64_t dim, float* row) {
    const auto n_outliers = r.get<uint8_t>();
    if (n_outliers > kMaxOutliers || n_outliers > dim)
        fail(std::to_string(n_outliers) + " outliers in a row of " + std::to_string(dim));
    std::array<uint32_t, kMaxOutliers> index{};
    for (size_t k = 0; k < n_outliers; ++k) {
        index[k] = wide_indexes(dim) ? r.get<uint32_t>() : r.get<uint16_t>();
        if (index[k] >= dim || (k > 0 && index[k] <= index[k - 1]))
            fail("outlier index " + std::to_string(index[k]) + " is out of order or range");
    }
    std::array<float, kMaxOutliers> value{};
    for (size_t k = 0; k < n_outliers; ++k) value[k] = r.get<float>();
    std::vector<float> scales(size_t(n_blocks(dim)));
    for (float& scale : scales) {
        scale = r.get<float>();
        if (!(scale >= 0.0f)) fail("a block scale is negative or NaN");
    }
    const auto* q = reinterpret_cast<const int8_t*>(r.take(size_t(dim)));
    for (int64_t i = 0; i < dim; ++i) row[i] = float(q[i]) * scales[size_t(i / kInt8Block)];
    for (size_t k = 0; k < n_outliers; ++k) row[index[k]] = value[k];
}

}  // namespace

RowFormat row_format_from_wire(uint32_t value) {
    if (value > uint32_t(RowFormat::int8)) fail("unknown row format " + std::to_string(value));
    return RowFormat(value);
}

void encode_rows(RowFormat format, int64_t n_rows, int64_t dim, std::span<const float> rows,
                 Bytes& out) {
    if (format == RowFormat::float32) {
        const size_t at = out.size();
        out.resize(at + rows.size_bytes());
        if (!rows.empty()) std::memcpy(out.data() + at, rows.data(), rows.size_bytes());
        return;
    }
    for (int64_t r = 0; r < n_rows; ++r) put_int8_row(rows.data() + r * dim, dim, out);
}

size_t decode_rows(RowFormat format, int64_t dim, uint64_t n_rows, std::span<const std::byte> in,
                   std::vector<float>& out) {
    if (dim < 0) fail("rows of " + std::to_string(dim) + " values");
    // Every value takes at least a byte, so these bounds come before any size is multiplied.
    if (n_rows > 0 && uint64_t(dim) > in.size())
        fail("rows of " + std::to_string(dim) + " values in " + std::to_string(in.size()) +
             " bytes");
    const size_t min_bytes = min_row_bytes(format, dim);
    if (min_bytes > 0 && n_rows > in.size() / min_bytes)
        fail(std::to_string(n_rows) + " rows of " + std::to_string(dim) + " values in " +
             std::to_string(in.size()) + " bytes");
    out.resize(size_t(n_rows) * size_t(dim));
    if (format == RowFormat::float32) {
        if (!out.empty()) std::memcpy(out.data(), in.data(), out.size() * sizeof(float));
        return out.size() * sizeof(float);
    }
    RowReader reader(in);
    for (uint64_t r = 0; r < n_rows; ++r) get_int8_row(reader, dim, out.data() + r * size_t(dim));
    return reader.offset();
}

}  // namespace ms::transport
