#include "transport/row_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace ms::transport {
namespace {

using Bytes = std::vector<std::byte>;

Bytes encode(RowFormat format, int64_t n_rows, int64_t dim, const std::vector<float>& rows) {
    Bytes out;
    encode_rows(format, n_rows, dim, rows, out);
    return out;
}

std::vector<float> decode(RowFormat format, int64_t n_rows, int64_t dim, const Bytes& bytes) {
    std::vector<float> rows;
    EXPECT_EQ(decode_rows(format, dim, uint64_t(n_rows), bytes, rows), bytes.size());
    return rows;
}

// Rows like a Llama residual stream: unit-scale noise plus, in some rows, massive channels.
std::vector<float> residual_rows(int64_t n_rows, int64_t dim, const std::vector<int64_t>& massive) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> rows(size_t(n_rows * dim));
    for (float& v : rows) v = normal(rng);
    for (int64_t r = 0; r < n_rows; r += 2)
        for (int64_t c : massive) rows[size_t(r * dim + c)] = (c % 2 ? -300.0f : 450.0f) + float(r);
    return rows;
}

// The largest |x| of the values of x's block that are not in `exact`.
float block_max(const std::vector<float>& row, int64_t i, const std::vector<int64_t>& exact) {
    const int64_t begin = i / kInt8Block * kInt8Block;
    float max_abs = 0.0f;
    for (int64_t j = begin; j < std::min<int64_t>(begin + kInt8Block, int64_t(row.size())); ++j)
        if (std::find(exact.begin(), exact.end(), j) == exact.end())
            max_abs = std::max(max_abs, std::fabs(row[size_t(j)]));
    return max_abs;
}

TEST(RowCodec, Float32RowsAreExact) {
    const auto rows = residual_rows(3, 40, {7});
    EXPECT_EQ(decode(RowFormat::float32, 3, 40, encode(RowFormat::float32, 3, 40, rows)), rows);
}

TEST(RowCodec, Int8KeepsMassiveChannelsExactAndTheRestWithinHalfAStep) {
    const int64_t dim = 576, n_rows = 6;
    const std::vector<int64_t> massive = {3, 40, 41, 300};
    const auto rows = residual_rows(n_rows, dim, massive);
    const auto decoded =
        decode(RowFormat::int8, n_rows, dim, encode(RowFormat::int8, n_rows, dim, rows));
    ASSERT_EQ(decoded.size(), rows.size());
    for (int64_t r = 0; r < n_rows; ++r) {
        const std::vector<float> row(rows.begin() + r * dim, rows.begin() + (r + 1) * dim);
        const std::vector<int64_t> exact = r % 2 == 0 ? massive : std::vector<int64_t>{};
        for (int64_t c = 0; c < dim; ++c) {
            const float got = decoded[size_t(r * dim + c)], want = row[size_t(c)];
            if (r % 2 == 0 && std::find(massive.begin(), massive.end(), c) != massive.end())
                EXPECT_EQ(got, want) << "massive channel " << c << " of row " << r;
            else  // half a step of a block scaled without the massive values, plus rounding
                EXPECT_LE(std::fabs(got - want), block_max(row, c, exact) / 254.0f * 1.001f)
                    << "row " << r << " value " << c;
        }
    }
}

TEST(RowCodec, Int8RowTakesABytePerValueAndItsScalesAndOutliers) {
    const int64_t dim = 576;
    const size_t plain = 1 + 576 / 32 * sizeof(float) + 576;  // no outliers: 649 of f32's 2304
    EXPECT_EQ(encode(RowFormat::int8, 1, dim, std::vector<float>(dim, 1.0f)).size(), plain);
    EXPECT_EQ(encode(RowFormat::int8, 1, dim, residual_rows(1, dim, {9, 10})).size(),
              plain + 2 * (sizeof(uint16_t) + sizeof(float)));
}

TEST(RowCodec, OnlyTheLargestOutliersUpToTheCapTravelExactly) {
    const int64_t dim = 256;
    std::vector<float> row(dim, 0.5f);
    for (size_t k = 0; k < kMaxOutliers + 4; ++k) row[k * 16] = 1000.0f + float(k);  // ascending
    const auto decoded = decode(RowFormat::int8, 1, dim, encode(RowFormat::int8, 1, dim, row));
    for (size_t k = 4; k < kMaxOutliers + 4; ++k) EXPECT_EQ(decoded[k * 16], row[k * 16]);
    for (size_t k = 0; k < 4; ++k)  // quantised in their blocks, still within half a step
        EXPECT_NEAR(decoded[k * 16], row[k * 16], 1004.0f / 254.0f);
}

TEST(RowCodec, WideRowsUseWideIndexes) {
    const int64_t dim = 70000;
    std::vector<float> row(dim, 0.25f);
    row[69999] = -5000.0f;
    const Bytes bytes = encode(RowFormat::int8, 1, dim, row);
    EXPECT_EQ(bytes.size(), 1 + sizeof(uint32_t) + sizeof(float) + (dim + 31) / 32 * 4 + dim);
    EXPECT_EQ(decode(RowFormat::int8, 1, dim, bytes)[69999], -5000.0f);
}

TEST(RowCodec, ZeroRowsStayZero) {
    const std::vector<float> rows(64, 0.0f);
    EXPECT_EQ(decode(RowFormat::int8, 2, 32, encode(RowFormat::int8, 2, 32, rows)), rows);
}

class MalformedInt8 : public ::testing::Test {
protected:
    static constexpr int64_t kDim = 40;
    void SetUp() override {
        std::vector<float> row(kDim, 1.0f);
        row[5] = 900.0f;
        row[33] = -800.0f;
        bytes = encode(RowFormat::int8, 1, kDim, row);
    }
    void expect_refused(const Bytes& b, uint64_t n_rows = 1) const {
        std::vector<float> out;
        EXPECT_THROW(decode_rows(RowFormat::int8, kDim, n_rows, b, out), MalformedRows);
    }
    // Offsets in the row: u8 count, two u16 indexes, two f32 values, two f32 scales, 40 q.
    static constexpr size_t kIndexes = 1, kScales = 1 + 2 * 2 + 2 * 4;
    Bytes bytes;
};

TEST_F(MalformedInt8, TheGoodRowDecodes) {
    std::vector<float> out;
    EXPECT_EQ(decode_rows(RowFormat::int8, kDim, 1, bytes, out), bytes.size());
    EXPECT_EQ(out[5], 900.0f);
    EXPECT_EQ(out[33], -800.0f);
}

TEST_F(MalformedInt8, EveryCutIsRefused) {
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        expect_refused(Bytes(bytes.begin(), bytes.begin() + long(cut)));
}

TEST_F(MalformedInt8, MoreOutliersThanTheCapAreRefused) {
    bytes[0] = std::byte{kMaxOutliers + 1};
    expect_refused(bytes);
}

TEST_F(MalformedInt8, OutlierIndexesOutOfRangeOrOrderAreRefused) {
    Bytes beyond = bytes;
    const uint16_t index = kDim;
    std::memcpy(beyond.data() + kIndexes + 2, &index, 2);
    expect_refused(beyond);
    Bytes repeated = bytes;
    std::memcpy(repeated.data() + kIndexes + 2, repeated.data() + kIndexes, 2);
    expect_refused(repeated);
}

TEST_F(MalformedInt8, NegativeOrNanScalesAreRefused) {
    for (float scale : {-1.0f, std::numeric_limits<float>::quiet_NaN()}) {
        Bytes bad = bytes;
        std::memcpy(bad.data() + kScales + 4, &scale, 4);
        expect_refused(bad);
    }
}

TEST_F(MalformedInt8, RowCountsTheBytesCannotHoldAreRefusedBeforeAnyAllocation) {
    expect_refused(bytes, uint64_t(1) << 62);
    std::vector<float> out;
    EXPECT_THROW(decode_rows(RowFormat::float32, int64_t(1) << 61, 1, bytes, out), MalformedRows);
    EXPECT_THROW(decode_rows(RowFormat::float32, -1, 1, bytes, out), MalformedRows);
    EXPECT_THROW(row_format_from_wire(2), MalformedRows);
}

// Found by unit_wire_fuzz (UBSan: signed overflow sizing the blocks of an INT64_MAX-wide row).
TEST(RowCodec, ZeroRowsOfTheWidestDimDecodeToNothing) {
    std::vector<float> out{1.0f};
    const std::vector<std::byte> none;
    for (RowFormat format : {RowFormat::int8, RowFormat::float32}) {
        EXPECT_EQ(decode_rows(format, std::numeric_limits<int64_t>::max(), 0, none, out), 0u);
        EXPECT_TRUE(out.empty());
    }
}

}  // namespace
}  // namespace ms::transport
