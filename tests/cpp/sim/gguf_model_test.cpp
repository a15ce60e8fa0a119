// Model shapes and weight sizes read from GGUF files, and deployments that name one.
#include "sim/gguf_model.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "sim/cost_model.h"
#include "sim/deployment.h"

namespace ms::sim {
namespace {

namespace fs = std::filesystem;

const std::string kCatalog = std::string(MS_SOURCE_DIR) + "/data/catalog";
const std::string kStories = std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf";
const std::string kStoriesMoe =
    std::string(MS_SHARED_MODELS) + "/stories260K/stories260K-moe4x2.gguf";

// A one-device decode deployment of `model`; MoE models need the `moe` placement.
std::string deployment_of(const std::string& model, const std::string& extra = "") {
    return "hardware: host\nmodel: " + model + "\n" + extra +
           "pools:\n  decode: {devices: 1, attention: {dp: 1}, moe: {ep: 1}, batch_per_group: 1}\n"
           "workload: {requests: 1, input_tokens: 8, output_tokens: 8}\n";
}

std::string deployment_for(const std::string& gguf_path, const std::string& extra = "") {
    return deployment_of("{gguf: " + gguf_path + "}", extra);
}

std::string error_of(const std::string& yaml) {
    try {
        parse_deployment(yaml, kCatalog);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

// A GGUF v3 file holding only `general.architecture = llama`: every shape key is missing.
std::string write_header_only_gguf() {
    const std::string path = testing::TempDir() + "/header_only.gguf";
    std::ofstream out(path, std::ios::binary);
    auto put = [&](auto v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); };
    auto put_string = [&](const std::string& s) {
        put(uint64_t(s.size()));
        out.write(s.data(), std::streamsize(s.size()));
    };
    out.write("GGUF", 4);
    put(uint32_t(3));  // version
    put(uint64_t(0));  // tensors
    put(uint64_t(1));  // metadata pairs
    put_string("general.architecture");
    put(uint32_t(8));  // STRING
    put_string("llama");
    return path;
}

TEST(GgufModel, ReadsDenseShapesAndWeightBytes) {
    const LoadedModel g = load_gguf_model(kStories);
    const ModelSpec& m = g.spec;
    EXPECT_EQ(m.name, "stories260K");
    EXPECT_EQ(m.layers, 5);
    EXPECT_EQ(m.hidden, 64);
    EXPECT_EQ(m.dense_intermediate, 172);
    EXPECT_EQ(m.vocab, 512);
    EXPECT_EQ(m.attention, AttentionKind::gqa);
    EXPECT_EQ(m.heads, 8);
    EXPECT_EQ(m.kv_heads, 4);
    EXPECT_EQ(m.head_dim, 8);
    EXPECT_FALSE(m.is_moe());
    EXPECT_EQ(m.dense_layers, 5);
    EXPECT_DOUBLE_EQ(g.weight_bytes_per_param, 4.0);  // F32 throughout
}

TEST(GgufModel, ReadsMoeShapes) {
    const ModelSpec m = load_gguf_model(kStoriesMoe).spec;
    EXPECT_TRUE(m.is_moe());
    EXPECT_EQ(m.routed_experts, 4);
    EXPECT_EQ(m.top_k, 2);
    EXPECT_EQ(m.shared_experts, 0);
    EXPECT_EQ(m.expert_intermediate, 172);
    EXPECT_EQ(m.dense_layers, 0);
    EXPECT_EQ(m.moe_layers(), 5);
}

TEST(GgufModel, ShapesAccountForEveryWeightMatrix) {
    const ModelSpec m = load_gguf_model(kStories).spec;
    // The file's 2-D tensors: 5 layers of attention and FFN, the embedding and the output.
    const double file_params = 5 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 172 * 3) + 2 * 64 * 512;
    EXPECT_DOUBLE_EQ(
        m.layers * (m.attention_params() + m.dense_ffn_params()) + 2.0 * m.vocab * m.hidden,
        file_params);
}

TEST(GgufModel, QuantizedFileGivesItsRealWeightBytes) {
    const std::string smollm2 =
        std::string(MS_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!fs::exists(smollm2)) GTEST_SKIP() << smollm2 << " not present";
    const LoadedModel g = load_gguf_model(smollm2);
    EXPECT_EQ(g.spec.layers, 30);
    EXPECT_EQ(g.spec.hidden, 576);
    EXPECT_EQ(g.spec.vocab, 49152);
    EXPECT_EQ(g.spec.head_dim, 64);
    // Q4_1 layers (0.625 bytes per weight) and a Q8_0 embedding (1.0625) average about 0.72.
    EXPECT_NEAR(g.weight_bytes_per_param, 0.717, 0.002);
}

TEST(GgufDeployment, WeightPrecisionDefaultsToTheFileAndCanBeOverridden) {
    const Deployment from_file = parse_deployment(deployment_for(kStories), kCatalog);
    EXPECT_EQ(from_file.model.layers, 5);
    EXPECT_DOUBLE_EQ(from_file.precision.weight_bytes, 4.0);
    const Deployment int8 =
        parse_deployment(deployment_for(kStories, "precision: {weights: int8}\n"), kCatalog);
    EXPECT_DOUBLE_EQ(int8.precision.weight_bytes, 1.0);
    EXPECT_DOUBLE_EQ(CostModel(int8, int8.decode).weight_bytes_per_device() * 4,
                     CostModel(from_file, from_file.decode).weight_bytes_per_device());
}

TEST(GgufDeployment, RelativePathIsFromTheDeploymentFile) {
    const fs::path dir = fs::path(testing::TempDir()) / "gguf_deployment";
    fs::create_directories(dir);
    const fs::path file = dir / "d.yaml";
    std::ofstream(file) << deployment_for(fs::relative(kStoriesMoe, dir).string());
    const Deployment d = load_deployment(file.string(), kCatalog);
    EXPECT_EQ(d.model.routed_experts, 4);
}

TEST(GgufDeployment, ErrorsNameTheFieldFileAndKey) {
    const std::string missing = error_of(deployment_for("/nonexistent/x.gguf"));
    EXPECT_NE(missing.find("model.gguf: /nonexistent/x.gguf"), std::string::npos) << missing;
    const std::string no_path = error_of(
        deployment_for("").replace(deployment_for("").find("{gguf: }"), 8, "{file: a.gguf}"));
    EXPECT_NE(no_path.find("model.gguf: missing field"), std::string::npos) << no_path;
    const std::string header_only = write_header_only_gguf();
    const std::string no_shapes = error_of(deployment_for(header_only));
    EXPECT_NE(no_shapes.find(header_only), std::string::npos) << no_shapes;
    EXPECT_NE(no_shapes.find("missing key 'llama.block_count'"), std::string::npos) << no_shapes;
}

}  // namespace
}  // namespace ms::sim
