// The cost model against cases computed by hand from the catalog's numbers.
#include "sim/cost_model.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ms::sim {
namespace {

Deployment deployment(const std::string& yaml) {
    return parse_deployment(yaml, std::string(MS_SOURCE_DIR) + "/data/catalog");
}

const std::string kDeepSeekDecode = R"(
hardware: cloudmatrix384
model: deepseek-r1
precision: {weights: int8, kv: int8}
activations: int8
mtp: {layers: 1, acceptance: 0.7}
pools:
  decode:
    devices: 320
    attention: {dp: 320}
    moe: {ep: 320, redundant_experts: 32, shared_replicas: 32}
    batch_per_group: 48
workload: {requests: 1, input_tokens: 4096, output_tokens: 256}
)";

TEST(CostModel, DeepSeekShapes) {
    const Deployment d = deployment(kDeepSeekDecode);
    // q: 7168*1536 + 1536*128*192, kv: 7168*576 + 512*128*256, out: 128*128*7168.
    EXPECT_DOUBLE_EQ(d.model.attention_params(), 187105280.0);
    const CostModel cost(d, d.decode);
    EXPECT_DOUBLE_EQ(cost.kv_bytes_per_token(), 62 * 576.0);  // 61 layers + MTP, INT8 latent
}

TEST(CostModel, RooflinesUseDevicePeaksAndEfficiencies) {
    const Deployment d = deployment(kDeepSeekDecode);
    const CostModel cost(d, d.decode);
    const Efficiency& e = d.system.device.eff;
    // One second of INT8 GEMM work, and one second of weight streaming.
    EXPECT_NEAR(cost.matmul_time(752e12 * e.matmul_compute, 0), 1.0, 1e-12);
    EXPECT_NEAR(cost.matmul_time(0, 1.6e12 * e.memory), 1.0, 1e-12);
    EXPECT_NEAR(cost.attention_time(376e12 * e.attention_compute, 1), 1.0, 1e-12);
    // Latency + size / bandwidth over the UB plane (196 GB/s per die, 1 us).
    EXPECT_NEAR(cost.all_to_all_time(196e9 * e.comm_bandwidth),
                1.0 + e.comm_latency_us * 1e-6 + 1e-6, 1e-12);
}

TEST(CostModel, BusiestExpertDevice) {
    Deployment d = deployment(kDeepSeekDecode);
    const double tokens = 320 * 96;  // 48 requests per die, 2 tokens each with MTP
    const double per_slot = tokens * 8 / 288;
    const double random_busiest = per_slot + std::sqrt(2 * std::log(320.0) * per_slot);
    EXPECT_LT(random_busiest, tokens / 32);  // the shared-expert replicas are busiest
    EXPECT_DOUBLE_EQ(CostModel(d, d.decode).busiest_expert_load(tokens), tokens / 32);
    d.decode.shared_replicas = 0, d.decode.redundant_experts = 64;  // 1 routed slot per die
    EXPECT_NEAR(CostModel(d, d.decode).busiest_expert_load(tokens),
                tokens * 8 / 320 + std::sqrt(2 * std::log(320.0) * tokens * 8 / 320), 1e-9);
    d.balance.kind = ExpertBalance::Kind::hot, d.balance.hot_load = 1.5;
    EXPECT_DOUBLE_EQ(CostModel(d, d.decode).busiest_expert_load(tokens), 1.5 * tokens * 8 / 320);
}

// Llama-3-70B BF16 on one H100 node with TP8, one request decoding at context 1000:
// every GEMM streams its weights (memory bound), attention reads the KV cache.
TEST(CostModel, DenseDecodeStepByHand) {
    const Deployment d = deployment(R"(
hardware: h100-node
model: llama-3-70b
pools:
  decode:
    devices: 8
    attention: {dp: 1, tp: 8}
    batch_per_group: 1
workload: {requests: 1, input_tokens: 1000, output_tokens: 2}
)");
    const Efficiency& e = d.system.device.eff;
    const double hbm = 3.35e12 * e.memory;
    const double projections = 8192.0 * 128 * (2 * 64 + 2 * 8) / 8 * 2 / hbm;
    const double ffn = 3.0 * 8192 * 28672 / 8 * 2 / hbm;
    const double kv_read = 1001.0 * 2 * 1 * 128 * 2 / hbm;  // one KV head per device
    const double all_reduce =
        e.comm_latency_us * 1e-6 + 2e-6 + 2.0 * 8192 * 2 * 7 / 8 / (450e9 * e.comm_bandwidth);
    const double layer = projections + ffn + kv_read + e.other_us_per_layer * 1e-6 + all_reduce;
    const double head = 128256.0 * 8192 / 8 * 2 / hbm;

    GroupLoad g;
    g.decode_tokens = 1, g.decode_context = 1001, g.decode_kv = 1001, g.logits = 1;
    const StepCost c = CostModel(d, d.decode).step(std::span(&g, 1));
    EXPECT_NEAR(c.seconds, 80 * layer + head, 1e-9);
    EXPECT_NEAR(c.ops[OpClass::attention], 80 * kv_read, 1e-9);
    EXPECT_EQ(c.ops[OpClass::dispatch], 0);
}

TEST(CostModel, MlaAttentionGrowsWithContext) {
    const Deployment d = deployment(kDeepSeekDecode);
    const CostModel cost(d, d.decode);
    auto step_at = [&](double context) {
        GroupLoad g;
        g.decode_tokens = 96, g.decode_context = 96 * context, g.decode_kv = 48 * context;
        g.logits = 96;
        return cost.step(std::span(&g, 1)).ops[OpClass::attention];
    };
    // Compute bound: 128 heads x (576 + 512) x 2 FLOPs per token and context position.
    const double flops_per_layer = 96 * 4096 * 2 * 128 * (576 + 512.0);
    EXPECT_NEAR(step_at(4096),
                62 * flops_per_layer / (376e12 * d.system.device.eff.attention_compute), 1e-9);
    EXPECT_NEAR(step_at(8192) / step_at(4096), 2.0, 1e-9);
}

}  // namespace
}  // namespace ms::sim
