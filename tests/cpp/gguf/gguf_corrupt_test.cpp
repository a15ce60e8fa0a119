// Corrupted and hostile GGUF images: each must end in ms::gguf::Error naming the problem,
// never in a crash, a huge allocation or an out-of-bounds read.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "gguf/gguf.h"
#include "gguf_writer.h"
#include "sample_images.h"

namespace ms::gguf {
namespace {

using testing::array;
using testing::ByteWriter;
using testing::EncodedValue;
using testing::GgufBuilder;
using testing::scalar;
using testing::string_array;
using testing::string_value;

constexpr uint64_t kHuge = std::numeric_limits<uint64_t>::max();

// Parses the image and returns the error message ("" when it parsed).
std::string parse_error(const std::vector<uint8_t>& image) {
    try {
        File::from_bytes(image);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

#define EXPECT_PARSE_ERROR(image, phrase) \
    EXPECT_PRED_FORMAT2(::testing::IsSubstring, phrase, parse_error(image))

// Byte offset where `needle` first occurs in the image.
size_t find_bytes(const std::vector<uint8_t>& image, std::string_view needle) {
    const auto it = std::search(image.begin(), image.end(), needle.begin(), needle.end());
    return static_cast<size_t>(it - image.begin());
}

TEST(Corrupt, BadMagic) {
    auto image = testing::small_model_image();
    image[0] = 'X';
    EXPECT_PARSE_ERROR(image, "gguf: bad magic 58 47 55 46, not a GGUF file");
}

TEST(Corrupt, UnsupportedVersions) {
    EXPECT_PARSE_ERROR(GgufBuilder().version(1).build(), "version 1 is not supported");
    EXPECT_PARSE_ERROR(GgufBuilder().version(4).build(), "unsupported version 4");
    EXPECT_PARSE_ERROR(GgufBuilder().version(0x03000000).build(), "big-endian");
}

TEST(Corrupt, EveryTruncationFails) {
    for (const auto& image : {testing::small_model_image(), testing::every_value_type_image()}) {
        ASSERT_EQ(parse_error(image), "");
        for (size_t size = 0; size < image.size(); ++size) {
            const std::vector<uint8_t> prefix(image.begin(), image.begin() + size);
            EXPECT_PRED_FORMAT2(::testing::IsSubstring, "gguf: ", parse_error(prefix))
                << "truncated to " << size << " of " << image.size() << " bytes";
        }
    }
}

TEST(Corrupt, TruncationNamesWhatWasBeingRead) {
    const auto image = GgufBuilder()
                           .kv("k", scalar(ValueType::U32, 1u))
                           .tensor("first", {4})
                           .tensor("blk.0.attn_q.weight", {4})
                           .build();
    EXPECT_PARSE_ERROR(std::vector<uint8_t>(image.begin(), image.begin() + 6),
                       "gguf: truncated while reading header");
    const size_t name_end = find_bytes(image, "blk.0.attn_q.weight") + 19;
    EXPECT_PARSE_ERROR(std::vector<uint8_t>(image.begin(), image.begin() + name_end + 2),
                       "gguf: truncated while reading tensor info 1 ('blk.0.attn_q.weight')");
    // Without tensors, so that the tensor count check cannot fire first.
    const auto metadata_only = GgufBuilder().kv("k", scalar(ValueType::U32, 1u)).build();
    EXPECT_PARSE_ERROR(std::vector<uint8_t>(metadata_only.begin(), metadata_only.end() - 1),
                       "gguf: truncated while reading metadata 0 ('k')");
}

TEST(Corrupt, TensorDataPastEnd) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {4}, 0, 4096).build(),
                       "tensor 'x' data (offset 4096, 16 bytes) runs past the end of the file");
    auto image = GgufBuilder().tensor("x", {4}).build();
    image.pop_back();
    EXPECT_PARSE_ERROR(image, "runs past the end of the file");
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {4}, 0, kHuge - 31).build(),
                       "runs past the end of the file");
}

TEST(Corrupt, MisalignedTensorOffset) {
    auto builder = GgufBuilder().tensor("a", {16});
    EXPECT_PARSE_ERROR(builder.tensor_at("x", {1}, 0, 4).build(),
                       "tensor 'x' offset 4 is not a multiple of the alignment 32");
}

TEST(Corrupt, DimensionsOverflowInt64) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {1ull << 32, 1ull << 32}, 0, 0).build(),
                       "tensor 'x' element count overflows int64");
    // The element count fits but the byte count does not.
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {1ull << 62}, 0, 0).build(),
                       "tensor 'x' byte size overflows int64");
}

TEST(Corrupt, NegativeDimension) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {4, kHuge}, 0, 0).build(),
                       "tensor 'x' dimension 1 is negative (-1)");
}

TEST(Corrupt, TooManyDimensions) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {1, 1, 1, 1, 1}, 0, 0).build(),
                       "tensor 'x' has 5 dimensions (at most 4 supported)");
}

TEST(Corrupt, UnknownTensorType) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_at("x", {4}, 99, 0).build(),
                       "gguf: tensor 'x' has unknown type 99");
}

TEST(Corrupt, PartialQuantBlock) {
    EXPECT_PARSE_ERROR(
        GgufBuilder().tensor_at("x", {33, 2}, 2, 0).build(),
        "tensor 'x' row of 33 elements is not a multiple of the block size 32 of Q4_0");
}

TEST(Corrupt, DuplicateTensorName) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor("x", {4}).tensor("x", {4}).build(),
                       "gguf: duplicate tensor name 'x'");
}

TEST(Corrupt, DuplicateMetadataKey) {
    EXPECT_PARSE_ERROR(GgufBuilder()
                           .kv("k", scalar(ValueType::U8, uint8_t{1}))
                           .kv("k", string_value("again"))
                           .build(),
                       "gguf: duplicate metadata key 'k'");
}

TEST(Corrupt, HugeStringLength) {
    EXPECT_PARSE_ERROR(
        GgufBuilder().kv("k", {ValueType::STRING, ByteWriter().put(kHuge).bytes}).build(),
        "string length 18446744073709551615 runs past the end of the file");
    // A key whose length is a lie.
    auto image = GgufBuilder().kv("key", scalar(ValueType::U8, uint8_t{1})).build();
    image[31] = 0x7f;  // high byte of the key length
    EXPECT_PARSE_ERROR(image, "runs past the end of the file while reading metadata 0");
}

TEST(Corrupt, HugeArrayCount) {
    const auto payload = ByteWriter().put(uint32_t(ValueType::U32)).put(kHuge / 2).bytes;
    EXPECT_PARSE_ERROR(GgufBuilder().kv("k", {ValueType::ARRAY, payload}).build(),
                       "array count 9223372036854775807 runs past the end of the file");
    const auto strings = ByteWriter().put(uint32_t(ValueType::STRING)).put<uint64_t>(1000).bytes;
    EXPECT_PARSE_ERROR(GgufBuilder().kv("k", {ValueType::ARRAY, strings}).build(),
                       "array count 1000");
}

TEST(Corrupt, HugeCounts) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor_count(kHuge).build(),
                       "tensor count 18446744073709551615 is more than the file can hold");
    EXPECT_PARSE_ERROR(GgufBuilder().metadata_count(1ull << 40).build(),
                       "metadata count 1099511627776 is more than the file can hold");
}

TEST(Corrupt, BadAlignment) {
    for (const uint32_t bad : {0u, 3u, 48u})
        EXPECT_PARSE_ERROR(
            GgufBuilder().kv("general.alignment", scalar(ValueType::U32, bad)).build(),
            "general.alignment must be a nonzero power of two, got " + std::to_string(bad));
    EXPECT_PARSE_ERROR(GgufBuilder().kv("general.alignment", string_value("32")).build(),
                       "general.alignment has type STRING, expected an integer");
}

TEST(Corrupt, UnsupportedValues) {
    const auto nested = ByteWriter().put(uint32_t(ValueType::ARRAY)).put<uint64_t>(0).bytes;
    EXPECT_PARSE_ERROR(GgufBuilder().kv("k", {ValueType::ARRAY, nested}).build(),
                       "nested arrays are not supported while reading metadata 0 ('k')");
    EXPECT_PARSE_ERROR(GgufBuilder().kv("k", {ValueType(13), {0}}).build(),
                       "unknown value type 13");
    const auto bad_element = ByteWriter().put(uint32_t{77}).put<uint64_t>(0).bytes;
    EXPECT_PARSE_ERROR(GgufBuilder().kv("k", {ValueType::ARRAY, bad_element}).build(),
                       "unknown array element type 77");
    EXPECT_PARSE_ERROR(GgufBuilder().kv("k", scalar(ValueType::BOOL, uint8_t{2})).build(),
                       "invalid bool value 2");
}

TEST(Corrupt, NamesAreEscapedInMessages) {
    EXPECT_PARSE_ERROR(GgufBuilder().tensor("a\nb\x01", {1}).tensor("a\nb\x01", {1}).build(),
                       "duplicate tensor name 'a\\nb\\x01'");
}

// Asserts that calling f throws Error whose message contains phrase.
template <class F>
void expect_error(F f, const std::string& phrase) {
    try {
        f();
        ADD_FAILURE() << "no error; expected: " << phrase;
    } catch (const Error& e) {
        EXPECT_PRED_FORMAT2(::testing::IsSubstring, phrase, e.what());
    }
}

TEST(Getters, WrongTypeAndMissingKey) {
    const auto file = File::from_bytes(testing::every_value_type_image());
    expect_error([&] { file.get_string("u32"); }, "gguf: key 'u32' has type U32, expected STRING");
    expect_error([&] { file.get_u32("string"); },
                 "key 'string' has type STRING, expected an integer");
    expect_error([&] { file.get_f32("u8"); }, "key 'u8' has type U8, expected F32");
    expect_error([&] { file.get_bool("u8"); }, "key 'u8' has type U8, expected BOOL");
    expect_error([&] { file.get_u32("bool", 1); }, "key 'bool' has type BOOL");
    expect_error([&] { file.get_string_array("array.u32"); },
                 "key 'array.u32' has type ARRAY[U32], expected ARRAY[STRING]");
    expect_error([&] { file.get_f32_array("string"); }, "expected ARRAY[F32]");
    expect_error([&] { file.get_int_array("array.f32"); }, "expected an integer array");
    expect_error([&] { file.get_int_array("array.u64"); },
                 "key 'array.u64' element 9223372036854775808 does not fit in int64");
    expect_error([&] { file.get_u32("u64"); }, "key 'u64' value 1099511627776 does not fit in u32");
    expect_error([&] { file.get_u64("i8"); }, "key 'i8' value -100 does not fit in u64");
    expect_error([&] { file.get_string("nope"); }, "gguf: missing key 'nope'");
    expect_error([&] { file.get_u64("nope"); }, "missing key 'nope'");
    expect_error([&] { file.tensor("nope"); }, "gguf: missing tensor 'nope'");
}

TEST(Open, ErrorsNameThePath) {
    expect_error([] { File::open("/nonexistent/model.gguf"); },
                 "cannot open file: No such file or directory (in /nonexistent/model.gguf)");
    const auto path = std::filesystem::temp_directory_path() / "gguf_test_bad_magic.gguf";
    std::ofstream(path, std::ios::binary) << "NOTAGGUF-FILE-AT-ALL....";
    expect_error([&] { File::open(path.string()); }, "bad magic 4e 4f 54 41");
    expect_error([&] { File::open(path.string()); }, path.string());
    std::ofstream(path, std::ios::binary | std::ios::trunc).flush();
    expect_error([&] { File::open(path.string()); }, "truncated while reading header");
    std::filesystem::remove(path);
    expect_error([] { File::open("/tmp"); }, "not a regular file");
}

}  // namespace
}  // namespace ms::gguf
