// Bad deployment files fail with an error that names the offending field.
#include "sim/deployment.h"

#include <gtest/gtest.h>

namespace ms::sim {
namespace {

const std::string kCatalog = std::string(MS_SOURCE_DIR) + "/data/catalog";

const std::string kGood = R"(
hardware: cloudmatrix384
model: deepseek-r1
precision: {weights: int8, activations: int8, kv: int8}
pools:
  decode:
    devices: 32
    attention: {dp: 32}
    moe: {ep: 32}
    batch_per_group: 8
workload: {requests: 10, input_tokens: 100, output_tokens: 10}
)";

std::string error_for(std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    try {
        parse_deployment(text, kCatalog);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

TEST(Deployment, GoodFileLoads) {
    const Deployment d = parse_deployment(kGood, kCatalog);
    EXPECT_EQ(d.devices(), 32);
    EXPECT_EQ(d.decode.expert_slots_per_device(d.model), 8);
    EXPECT_EQ(d.decode.token_budget, 8);
}

TEST(Deployment, ErrorsNameTheField) {
    EXPECT_NE(error_for(kGood, "cloudmatrix384", "tpu9000").find("hardware: unknown 'tpu9000'"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "ep: 32", "ep: 64").find("pools.decode.moe.ep: 64 is larger"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "ep: 32", "ep: 24").find("pools.decode.moe.ep"), std::string::npos);
    EXPECT_NE(error_for(kGood, "batch_per_group: 8", "batch_per_group: -4")
                  .find("pools.decode.batch_per_group: must be a whole number >= 1"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "input_tokens: 100, ", "").find("workload.input_tokens: missing"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "dp: 32", "dp: 16").find("pools.decode.attention: dp x tp"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "devices: 32\n    attention: {dp: 32}",
                        "devices: 800\n    attention: {dp: 800}")
                  .find("pools: uses 800 devices but cloudmatrix384 has 768"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "kv: int8", "kv: int3").find("precision.kv"), std::string::npos);
    EXPECT_NE(error_for(kGood, "model: deepseek-r1", "model: gpt-5").find("model: unknown"),
              std::string::npos);
}

}  // namespace
}  // namespace ms::sim
