// Models that cannot run give errors naming what is wrong.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "gguf/gguf.h"
#include "model/model.h"

namespace {

const std::string kModel = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Overwrites the first occurrence of `from` with `to` (same length) in the image.
void patch(std::vector<uint8_t>& bytes, const std::string& from, const std::string& to) {
    ASSERT_EQ(from.size(), to.size());
    auto it = std::search(bytes.begin(), bytes.end(), from.begin(), from.end());
    ASSERT_NE(it, bytes.end()) << from;
    std::copy(to.begin(), to.end(), it);
}

std::string load_error(const std::vector<uint8_t>& bytes) {
    try {
        ms::model::Model::from_file(ms::gguf::File::from_bytes(bytes));
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

TEST(ModelErrors, UnsupportedArchitectureIsNamed) {
    auto bytes = read_file(kModel);
    patch(bytes, std::string("architecture\x08\0\0\0\x05\0\0\0\0\0\0\0llama", 29),
          std::string("architecture\x08\0\0\0\x05\0\0\0\0\0\0\0xxxxx", 29));
    const std::string error = load_error(bytes);
    EXPECT_NE(error.find("unsupported architecture 'xxxxx'"), std::string::npos) << error;
}

TEST(ModelErrors, MissingTensorIsNamed) {
    auto bytes = read_file(kModel);
    patch(bytes, "blk.2.ffn_up.weight", "blk.2.ffn_XX.weight");
    const std::string error = load_error(bytes);
    EXPECT_NE(error.find("missing tensor 'blk.2.ffn_up.weight'"), std::string::npos) << error;
}

TEST(ModelErrors, TokenOutsideVocabularyIsRejected) {
    auto model = ms::model::Model::load(kModel);
    model->reserve_kv(1, 16);
    const std::vector<int32_t> table{0};
    ms::model::Batch batch;
    batch.block_tables = {table};
    batch.add(100000, 0, 0, true);
    ms::model::Activations logits;
    EXPECT_THROW(model->forward(batch, nullptr, logits), std::out_of_range);
}

}  // namespace
