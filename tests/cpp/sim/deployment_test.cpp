// Bad deployment files fail with an error that names the offending field.
#include "sim/deployment.h"

#include <gtest/gtest.h>

namespace ms::sim {
namespace {

const std::string kCatalog = std::string(MS_SOURCE_DIR) + "/data/catalog";

const std::string kGood = R"(
hardware: cloudmatrix384
model: deepseek-r1
precision: {weights: int8, kv: int8}
activations: int8
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

TEST(Deployment, OldSpellingsNameTheNewKey) {
    EXPECT_NE(error_for(kGood, "kv: int8}", "kv: int8, activations: int8}")
                  .find("precision.activations: 'activations' is no longer read: write "
                        "activations: DTYPE at the top level"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "moe: {ep: 32}", "moe: {ep: 16}\n    dp_groups: 2")
                  .find("pools.decode.dp_groups: 'dp_groups' is no longer read"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "moe: {ep: 32}",
                        "moe: {ep: 16}\n    afd: {attention_devices: 16, expert_devices: 16}")
                  .find("pools.decode.afd: 'afd' is no longer read: write roles"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "batch_per_group: 8", "batch_per_group: 8\n    bogus: 1")
                  .find("pools.decode.bogus: unknown field 'bogus'"),
              std::string::npos);
    EXPECT_NE(error_for(kGood, "hardware:", "transport: shm\nhardware:")
                  .find("transport: the simulator's links come from the hardware"),
              std::string::npos);
}

// Roles, the runtime's word for which units run where, split attention from the experts.
TEST(Deployment, RolesDisaggregateAttentionFromExperts) {
    std::string text = kGood;
    text.replace(text.find("attention: {dp: 32}"), 19,
                 "attention: {dp: 16}\n    roles:\n      attention: {replicas: 16, units: "
                 "[attention]}\n      experts: {replicas: 16, units: [moe]}");
    text.replace(text.find("ep: 32"), 6, "ep: 16");
    const Deployment d = parse_deployment(text, kCatalog);
    EXPECT_TRUE(d.decode.disaggregated_ffn());
    EXPECT_EQ(d.decode.attention_devices, 16);
    EXPECT_EQ(d.decode.expert_devices, 16);
    EXPECT_EQ(d.decode.expert_slots_per_device(d.model), 16);
    std::string both = text;
    both.replace(both.find("units: [moe]"), 12, "units: [attention, moe]");
    EXPECT_NE(error_for(both, "", "")
                  .find("pools.decode.roles.experts: the simulator "
                        "disaggregates attention from experts"),
              std::string::npos);
    EXPECT_NE(error_for(text, "replicas: 16, units: [moe]", "replicas: 8, units: [moe]")
                  .find("pools.decode.roles: replicas of the attention roles plus"),
              std::string::npos);
}

}  // namespace
}  // namespace ms::sim
