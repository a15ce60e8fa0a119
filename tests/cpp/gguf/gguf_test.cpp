// The GGUF reader on real files, on every metadata value type, and through its getters.
#include "gguf/gguf.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gguf_writer.h"
#include "sample_images.h"

namespace ms::gguf {
namespace {

using testing::array;
using testing::GgufBuilder;
using testing::scalar;
using testing::string_value;

const std::string kModels = MS_SHARED_MODELS;

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(RealFiles, Stories260K) {
    const auto file = File::open(kModels + "/stories260K/stories260K.gguf");
    EXPECT_EQ(file.version(), 3u);
    EXPECT_EQ(file.alignment(), 32u);
    EXPECT_EQ(file.get_string("general.architecture"), "llama");
    EXPECT_EQ(file.get_u32("llama.embedding_length"), 64u);
    EXPECT_EQ(file.get_u32("llama.block_count"), 5u);
    EXPECT_EQ(file.get_u32("llama.attention.head_count_kv"), 4u);
    EXPECT_FLOAT_EQ(file.get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
    EXPECT_EQ(file.get_string_array("tokenizer.ggml.tokens").size(), 512u);
    EXPECT_EQ(file.get_string_array("tokenizer.ggml.tokens")[1], "<s>");
    EXPECT_EQ(file.get_int_array("tokenizer.ggml.token_type").size(), 512u);

    ASSERT_EQ(file.tensors().size(), 48u);
    const TensorInfo& embd = file.tensor("token_embd.weight");
    EXPECT_EQ(embd.dims, (std::vector<int64_t>{64, 512}));
    EXPECT_EQ(embd.type, DType::F32);
    EXPECT_EQ(embd.n_bytes, 64u * 512 * 4);
    EXPECT_EQ(embd.n_rows(), 512);
    EXPECT_EQ(file.tensor("blk.0.ffn_down.weight").dims, (std::vector<int64_t>{172, 64}));
    for (const auto& t : file.tensors())
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % file.alignment(), 0u) << t.name;
}

TEST(RealFiles, MappedAndCopiedImagesAgree) {
    const std::string path = kModels + "/stories260K/stories260K.gguf";
    const auto mapped = File::open(path);
    const auto copied = File::from_bytes(read_file(path));
    EXPECT_EQ(copied.path(), "");
    const TensorInfo& a = mapped.tensor("output_norm.weight");
    const TensorInfo& b = copied.tensor("output_norm.weight");
    ASSERT_EQ(a.n_bytes, b.n_bytes);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0);
}

TEST(RealFiles, VocabularyOnlyFiles) {
    const auto phi3 = File::open(kModels + "/tokenizers/ggml-vocab-phi-3.gguf");
    EXPECT_EQ(phi3.get_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(phi3.get_string_array("tokenizer.ggml.tokens").size(), 32064u);
    EXPECT_EQ(phi3.get_f32_array("tokenizer.ggml.scores").size(), 32064u);
    EXPECT_TRUE(phi3.get_bool("tokenizer.ggml.add_bos_token"));
    EXPECT_TRUE(phi3.tensors().empty());

    const auto gpt2 = File::open(kModels + "/tokenizers/ggml-vocab-gpt-2.gguf");
    EXPECT_EQ(gpt2.get_string("tokenizer.ggml.pre"), "gpt-2");
    EXPECT_EQ(gpt2.get_string_array("tokenizer.ggml.tokens").size(), 50257u);
    EXPECT_EQ(gpt2.get_string_array("tokenizer.ggml.merges").size(), 50000u);
    EXPECT_EQ(gpt2.get_u32("tokenizer.ggml.eos_token_id"), 50256u);
}

TEST(Values, EveryTypeRoundTrips) {
    const auto file = File::from_bytes(testing::every_value_type_image());
    EXPECT_EQ(file.version(), 2u);
    EXPECT_EQ(file.metadata().size(), 25u);
    EXPECT_EQ(file.metadata().front().first, "u8");  // file order is kept

    EXPECT_EQ(file.find("u8")->type, ValueType::U8);
    EXPECT_EQ(file.get_u32("u8"), 200u);
    EXPECT_EQ(std::get<int64_t>(file.find("i8")->data), -100);
    EXPECT_EQ(file.get_u32("u16"), 60000u);
    EXPECT_EQ(std::get<int64_t>(file.find("i16")->data), -30000);
    EXPECT_EQ(file.get_u32("u32"), 4000000000u);
    EXPECT_EQ(std::get<int64_t>(file.find("i32")->data), -2000000000);
    EXPECT_EQ(file.get_f32("f32"), 1.5f);
    EXPECT_TRUE(file.get_bool("bool"));
    EXPECT_EQ(file.get_string("string"), "hello");
    EXPECT_EQ(file.get_u64("u64"), uint64_t{1} << 40);
    EXPECT_EQ(std::get<int64_t>(file.find("i64")->data), -(int64_t{1} << 40));
    EXPECT_EQ(std::get<double>(file.find("f64")->data), 0.25);
    EXPECT_EQ(file.get_f32("f64"), 0.25f);

    EXPECT_EQ(file.get_int_array("array.u8"), (std::vector<int64_t>{1, 255}));
    EXPECT_EQ(file.get_int_array("array.i8"), (std::vector<int64_t>{-1, 127}));
    EXPECT_EQ(file.get_int_array("array.u16"), (std::vector<int64_t>{2, 65535}));
    EXPECT_EQ(file.get_int_array("array.i16"), (std::vector<int64_t>{-2, 32767}));
    EXPECT_EQ(file.get_int_array("array.u32"), (std::vector<int64_t>{3, 4294967295}));
    EXPECT_EQ(file.get_int_array("array.i32"), (std::vector<int64_t>{-3, 7}));
    EXPECT_EQ(file.get_f32_array("array.f32"), (std::vector<float>{0.5f, -2.f}));
    EXPECT_EQ(std::get<std::vector<bool>>(file.find("array.bool")->data),
              (std::vector<bool>{false, true, true}));
    EXPECT_EQ(file.get_string_array("array.string"), (std::vector<std::string>{"x", "", "yz"}));
    EXPECT_EQ(std::get<std::vector<uint64_t>>(file.find("array.u64")->data),
              (std::vector<uint64_t>{4, uint64_t{1} << 63}));
    EXPECT_EQ(file.get_int_array("array.i64"), (std::vector<int64_t>{-4, int64_t{1} << 62}));
    EXPECT_EQ(std::get<std::vector<double>>(file.find("array.f64")->data),
              (std::vector<double>{0.125, 1e300}));
    EXPECT_EQ(file.find("array.empty")->array_size(), 0u);
    EXPECT_EQ(file.find("array.empty")->array_type, ValueType::U32);

    for (const auto& [key, value] : file.metadata()) {
        const bool is_array_key = key.starts_with("array.");
        EXPECT_EQ(value.is_array(), is_array_key) << key;
        if (is_array_key && key != "array.empty") {
            EXPECT_GE(value.array_size(), 2u) << key;
        }
    }
}

TEST(Values, DisplayStrings) {
    const auto file = File::from_bytes(testing::every_value_type_image());
    EXPECT_EQ(to_display_string(*file.find("i8")), "-100");
    EXPECT_EQ(to_display_string(*file.find("f32")), "1.5");
    EXPECT_EQ(to_display_string(*file.find("bool")), "true");
    EXPECT_EQ(to_display_string(*file.find("string")), "\"hello\"");
    EXPECT_EQ(to_display_string(*file.find("array.string")), "[\"x\", \"\", \"yz\"]");
    EXPECT_EQ(to_display_string(*file.find("array.bool"), 2), "[false, true, ... 1 more]");
    EXPECT_EQ(to_display_string(*file.find("array.empty")), "[]");
    EXPECT_EQ(value_type_name(ValueType::STRING), "STRING");
}

TEST(Values, IntegerGettersCheckRange) {
    const auto file = File::from_bytes(testing::every_value_type_image());
    EXPECT_EQ(file.get_u64("u8"), 200u);
    EXPECT_EQ(file.get_u32("u16", 7), 60000u);
    EXPECT_EQ(file.get_u32("absent", 7), 7u);
    EXPECT_EQ(file.get_f32("absent", 2.5f), 2.5f);
    EXPECT_EQ(file.get_bool("absent", true), true);
    EXPECT_EQ(file.get_string("absent", "fallback"), "fallback");
    EXPECT_EQ(file.get_string("string", "fallback"), "hello");
}

TEST(Tensors, LayoutFromWriter) {
    const auto file = File::from_bytes(testing::small_model_image());
    ASSERT_EQ(file.tensors().size(), 2u);
    const TensorInfo& q8 = file.tensor("blk.0.ffn_up.weight");
    EXPECT_EQ(q8.type, DType::Q8_0);
    EXPECT_EQ(q8.n_bytes, 2u * 34);
    EXPECT_EQ(q8.n_elements(), 64);
    EXPECT_EQ(q8.offset % 32, 0u);
    EXPECT_EQ(q8.data[0], 2);  // the writer fills tensor k with k + 1
    EXPECT_EQ(q8.data[q8.n_bytes - 1], 2);
    EXPECT_EQ(file.tensor("token_embd.weight").data[0], 1);
    EXPECT_EQ(file.find_tensor("absent"), nullptr);
}

TEST(Tensors, CustomAlignmentAndZeroSizedTensor) {
    const auto file = File::from_bytes(GgufBuilder()
                                           .alignment(64)
                                           .tensor("a", {3})
                                           .tensor("empty", {0, 5})
                                           .tensor("b", {1})
                                           .build());
    EXPECT_EQ(file.alignment(), 64u);
    EXPECT_EQ(file.tensor("empty").n_bytes, 0u);
    EXPECT_EQ(file.tensor("b").offset, 64u);
    for (const auto& t : file.tensors())
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u) << t.name;
}

TEST(Tensors, ScalarTensorHasOneElement) {
    const auto file = File::from_bytes(GgufBuilder().tensor("scalar", {}).build());
    EXPECT_EQ(file.tensor("scalar").n_elements(), 1);
    EXPECT_EQ(file.tensor("scalar").n_bytes, 4u);
}

TEST(Tensors, MoveKeepsTensorDataValid) {
    auto file = File::from_bytes(testing::small_model_image());
    const uint8_t* data = file.tensor("token_embd.weight").data;
    File moved = std::move(file);
    EXPECT_EQ(moved.tensor("token_embd.weight").data, data);
    EXPECT_EQ(moved.find("general.architecture")->type, ValueType::STRING);
}

// fuzz/corpus/gguf holds these images; set MS_UPDATE_FUZZ_SEEDS=1 to rewrite them.
TEST(FuzzSeeds, CorpusMatchesWriter) {
    const std::filesystem::path dir = std::string(MS_SOURCE_DIR) + "/fuzz/corpus/gguf";
    const bool update = std::getenv("MS_UPDATE_FUZZ_SEEDS") != nullptr;
    for (const auto& [name, image] : testing::fuzz_seed_images()) {
        EXPECT_NO_THROW(File::from_bytes(image)) << name;
        if (update)
            std::ofstream(dir / name, std::ios::binary)
                .write(reinterpret_cast<const char*>(image.data()), image.size());
        EXPECT_EQ(read_file(dir / name), image) << name;
    }
}

}  // namespace
}  // namespace ms::gguf
