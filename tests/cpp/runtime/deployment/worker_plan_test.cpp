// Checking deployments against models and the per-worker plans of the example files.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/gguf.h"
#include "runtime/deployment/deployment.h"

using namespace ms::runtime;
using ms::model::HParams;

namespace {

HParams load_hparams(const std::string& path) {
    return HParams::from_gguf(ms::gguf::File::open(path));
}

HParams stories() {
    return load_hparams(std::string(MS_SHARED_MODELS) + "/stories260K/stories260K.gguf");
}
HParams stories_moe() {
    return load_hparams(std::string(MS_SHARED_MODELS) + "/stories260K/stories260K-moe4x2.gguf");
}

std::vector<WorkerPlan> plan_example(const std::string& file, const HParams& hp) {
    return plan_workers(load_deployment(std::string(MS_SOURCE_DIR) + "/deploy/runtime/" + file),
                        hp);
}

// The message of the DeploymentError planning the text for `hp` raises, or "".
std::string plan_error(const std::string& yaml, const HParams& hp, PlanOptions options = {}) {
    try {
        plan_workers(parse_deployment(yaml, "d.yaml"), hp, options);
    } catch (const DeploymentError& e) {
        return e.what();
    }
    return "";
}

const std::vector<int> kFiveLayers{0, 1, 2, 3, 4};

}  // namespace

TEST(WorkerPlan, DefaultDeploymentRunsEverythingInOneWorker) {
    const HParams hp = stories_moe();
    const auto plans = plan_workers(colocated_deployment(hp), hp);
    ASSERT_EQ(plans.size(), 1u);
    EXPECT_TRUE(plans[0].embedding && plans[0].head);
    EXPECT_EQ(plans[0].attention_layers, kFiveLayers);
    ASSERT_EQ(plans[0].moe_experts.size(), 5u);
    EXPECT_EQ(plans[0].moe_experts[4].experts, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_TRUE(plans[0].peers.empty());
    EXPECT_EQ(plans[0].dp_group, 0);
}

TEST(WorkerPlan, ColocatedExampleFitsTheDenseModel) {
    const auto plans = plan_example("colocated.yaml", stories());
    ASSERT_EQ(plans.size(), 1u);
    EXPECT_EQ(plans[0].ffn_layers, kFiveLayers);
    EXPECT_EQ(plans[0].address, "");
}

TEST(WorkerPlan, AttentionFfnExampleSplitsTwoWorkers) {
    const auto plans = plan_example("attention-ffn.shm.yaml", stories());
    ASSERT_EQ(plans.size(), 2u);
    EXPECT_EQ(plans[0].name, "attention/0");
    EXPECT_EQ(plans[0].address, "ms-attention-0");
    EXPECT_EQ(plans[0].attention_layers, kFiveLayers);
    EXPECT_TRUE(plans[0].ffn_layers.empty());
    EXPECT_EQ(plans[0].peers, (std::vector<std::string>{"ffn/0"}));
    EXPECT_EQ(plans[1].ffn_layers, kFiveLayers);
    EXPECT_EQ(plans[1].dp_group, -1);
    EXPECT_EQ(plans[1].peers, (std::vector<std::string>{"attention/0"}));
}

TEST(WorkerPlan, DataParallelExampleKeepsTheSplitWithTwoGroups) {
    const Deployment d =
        load_deployment(std::string(MS_SOURCE_DIR) + "/deploy/runtime/attention-ffn-dp.shm.yaml");
    EXPECT_EQ(d.dp_groups, 2);
    EXPECT_EQ(d.micro_batches, 2);
    const auto plans = plan_example("attention-ffn-dp.shm.yaml", stories());
    ASSERT_EQ(plans.size(), 2u);
    EXPECT_EQ(plans[0].attention_layers, kFiveLayers);
    EXPECT_EQ(plans[1].ffn_layers, kFiveLayers);
}

TEST(WorkerPlan, AttentionFfnExampleFitsSmolLM2) {
    const std::string smollm2 =
        std::string(MS_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!std::filesystem::exists(smollm2)) GTEST_SKIP() << smollm2 << " not present";
    const auto plans = plan_example("attention-ffn.shm.yaml", load_hparams(smollm2));
    ASSERT_EQ(plans.size(), 2u);
    EXPECT_EQ(plans[1].ffn_layers.size(), 30u);
}

TEST(WorkerPlan, ThreeProcessMoeSplitsExpertsOverTwoWorkers) {
    for (const char* file : {"attention-experts.shm.yaml", "attention-experts.ucx.yaml"}) {
        SCOPED_TRACE(file);
        const auto plans = plan_example(file, stories_moe());
        ASSERT_EQ(plans.size(), 3u);
        EXPECT_TRUE(plans[0].moe_experts.empty());
        EXPECT_EQ(plans[0].peers, (std::vector<std::string>{"experts-01/0", "experts-23/0"}));
        for (size_t w : {1u, 2u}) {
            ASSERT_EQ(plans[w].moe_experts.size(), 5u);
            EXPECT_EQ(plans[w].moe_experts[3].layer, 3);
            EXPECT_TRUE(plans[w].attention_layers.empty());
            EXPECT_EQ(plans[w].peers, (std::vector<std::string>{"attention/0"}));
        }
        EXPECT_EQ(plans[1].moe_experts[0].experts, (std::vector<int>{0, 1}));
        EXPECT_EQ(plans[2].moe_experts[0].experts, (std::vector<int>{2, 3}));
    }
    const auto ucx = plan_example("attention-experts.ucx.yaml", stories_moe());
    EXPECT_EQ(ucx[2].address, "127.0.0.3:7102");
}

TEST(WorkerPlan, RedundantExampleHasSpareCopies) {
    const auto plans = plan_example("redundant-experts.shm.yaml", stories_moe());
    ASSERT_EQ(plans.size(), 4u);
    EXPECT_EQ(plans[3].name, "experts-spare/0");
    EXPECT_EQ(plans[3].moe_experts[2].experts, (std::vector<int>{0, 2}));
    EXPECT_EQ(plans[0].peers,
              (std::vector<std::string>{"experts-01/0", "experts-23/0", "experts-spare/0"}));
}

TEST(WorkerPlan, AttentionDpGroupsEachTalkToEveryExpertWorker) {
    const auto plans = plan_workers(parse_deployment(R"(
transport: shm
roles:
  attention:
    replicas: 2
    units: [embedding, attention, head]
    addresses: [a0, a1]
  experts-01: {units: [{moe: {experts: [0, 1]}}], addresses: [e01]}
  experts-23: {units: [{moe: {experts: [2, 3]}}], addresses: [e23]}
  experts-spare: {units: [{moe: {experts: [0, 2]}}], addresses: [spare]}
)",
                                                     "d.yaml"),
                                    stories_moe());
    ASSERT_EQ(plans.size(), 5u);
    EXPECT_EQ(plans[1].name, "attention/1");
    EXPECT_EQ(plans[1].dp_group, 1);
    EXPECT_EQ(plans[1].address, "a1");
    EXPECT_EQ(plans[4].moe_experts[2].experts, (std::vector<int>{0, 2}));
    // Each DP group talks to every expert worker, and the DP groups do not talk to each other.
    EXPECT_EQ(plans[0].peers,
              (std::vector<std::string>{"experts-01/0", "experts-23/0", "experts-spare/0"}));
    EXPECT_EQ(plans[4].peers, (std::vector<std::string>{"attention/0", "attention/1"}));
}

TEST(WorkerPlan, LayerSplitAttentionPairsDpGroupsReplicaByReplica) {
    const auto plans = plan_workers(parse_deployment(R"(
roles:
  front:
    replicas: 2
    units: [embedding, {attention: {layers: [0, 1]}}, {ffn: {layers: [0, 1]}}]
  back:
    replicas: 2
    units: [{attention: {layers: [2, 3, 4]}}, {ffn: {layers: [2, 3, 4]}}, head]
)",
                                                     "d.yaml"),
                                    stories());
    ASSERT_EQ(plans.size(), 4u);
    EXPECT_EQ(plans[0].peers, (std::vector<std::string>{"back/0"}));
    EXPECT_EQ(plans[3].peers, (std::vector<std::string>{"front/1"}));
}

TEST(WorkerPlan, FrontendWithoutAttentionTalksToEveryDpGroup) {
    const auto plans = plan_workers(parse_deployment(R"(
roles:
  frontend: {units: [embedding, head]}
  attention: {replicas: 2, units: [attention]}
  ffn: {units: [ffn]}
)",
                                                     "d.yaml"),
                                    stories());
    ASSERT_EQ(plans.size(), 4u);
    EXPECT_EQ(plans[0].dp_group, -1);
    EXPECT_EQ(plans[0].peers, (std::vector<std::string>{"attention/0", "attention/1"}));
    EXPECT_EQ(plans[2].peers, (std::vector<std::string>{"ffn/0", "frontend/0"}));
    EXPECT_EQ(plans[3].peers, (std::vector<std::string>{"attention/0", "attention/1"}));
}

TEST(WorkerPlan, SharedHeadGivesEachHolderConsecutiveRows) {
    // stories260K has 512 tokens: cuts fall on multiples of 64 rows, in role order.
    const auto plans = plan_workers(parse_deployment(R"(
transport: shm
roles:
  front: {units: [embedding, attention, {head: {vocab_share: 0.3}}], addresses: [a]}
  ffn: {units: [ffn, {head: {vocab_share: 0.5}}], addresses: [b]}
  lm: {units: [{head: {vocab_share: 0.2}}], addresses: [c]}
)",
                                                     "d.yaml"),
                                    stories());
    ASSERT_EQ(plans.size(), 3u);
    EXPECT_TRUE(plans[0].head && plans[1].head && plans[2].head);
    EXPECT_EQ(plans[0].head_first_row, 0);
    EXPECT_EQ(plans[0].head_rows, 128);  // 0.3 x 512 = 153.6 -> 128
    EXPECT_EQ(plans[1].head_first_row, 128);
    EXPECT_EQ(plans[1].head_rows, 256);  // 0.8 x 512 = 409.6 -> 384
    EXPECT_EQ(plans[2].head_first_row, 384);
    EXPECT_EQ(plans[2].head_rows, 128);
    // The last attention layer hands its rows to every holder of the head.
    EXPECT_EQ(plans[2].peers, (std::vector<std::string>{"front/0"}));
    const auto example = plan_example("attention-ffn-head.shm.yaml", stories());
    EXPECT_EQ(example[0].head_rows, 256);
    EXPECT_EQ(example[1].head_first_row, 256);
    EXPECT_EQ(example[1].head_rows, 256);
    const auto sole = plan_example("attention-ffn.shm.yaml", stories());
    EXPECT_EQ(sole[0].head_first_row, 0);
    EXPECT_EQ(sole[0].head_rows, 512);
}

TEST(WorkerPlanErrors, SharedHeadSharesAddUp) {
    const HParams hp = stories();
    const std::string roles =
        "roles:\n  a: {units: [embedding, attention, ffn, {head: {vocab_share: 0.5}}]}\n";
    EXPECT_EQ(plan_error(roles, hp),
              "d.yaml:2:63: roles.a.units[3].head.vocab_share: the head's vocab_share values add "
              "up to 0.5, not 1");
    EXPECT_EQ(plan_error(roles + "  b: {units: [{head: {vocab_share: 0.4}}]}\n", hp),
              "d.yaml:3:36: roles.b.units[0].head.vocab_share: the head's vocab_share values add "
              "up to 0.9, not 1");
    EXPECT_EQ(plan_error(roles + "  b: {units: [head]}\n", hp),
              "d.yaml:3:3: roles.b: head is already placed in role 'a'; roles that share it "
              "each give a vocab_share");
    EXPECT_EQ(plan_error(roles + "  b: {replicas: 2, units: [{head: {vocab_share: 0.5}}]}\n", hp),
              "d.yaml:3:3: roles.b: a role sharing the head runs one replica");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, ffn, {head: {vocab_share: "
                         "0.05}}]}\n  b: {units: [{head: {vocab_share: 0.95}}]}\n",
                         hp),
              "d.yaml:2:63: roles.a.units[3].head.vocab_share: vocab_share 0.05 leaves this role "
              "no rows of the 512-token vocabulary");
}

TEST(WorkerPlanErrors, EveryUnitPlacedOnce) {
    const HParams hp = stories();
    EXPECT_EQ(plan_error("roles: {a: {units: [attention, ffn, head]}}", hp),
              "d.yaml:1:8: roles: no role holds the embedding");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, ffn]}\n", hp),
              "d.yaml:2:3: roles: no role holds the head");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, head, ffn, {attention: {layers: [0, "
                         "1, 2]}}]}\n",
                         hp),
              "d.yaml:2:3: roles: no role holds the attention of layers 3, 4");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, ffn, head]}\n  b: {units: "
                         "[{attention: {layers: [4]}}]}\n",
                         hp),
              "d.yaml:3:3: roles.b: attention of layer 4 is already placed in role 'a'");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, ffn, head]}\n  b: {units: "
                         "[head]}\n",
                         hp),
              "d.yaml:3:3: roles.b: head is already placed in role 'a'; roles that share it "
              "each give a vocab_share");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, ffn, head]}\n  b: {units: "
                         "[ffn]}\n",
                         hp),
              "d.yaml:3:3: roles.b: the FFN of layer 0 is already placed in role 'a'");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, head, {ffn: {layers: [0, "
                         "1, 2, 3]}}]}\n",
                         hp),
              "d.yaml:2:3: roles: no role holds the FFN or experts of layer 4");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, ffn, head, {ffn: {layers: "
                         "[1]}}]}\n",
                         hp),
              "d.yaml:2:48: roles.a.units[4]: ffn of layer 1 is already in this role");
}

TEST(WorkerPlanErrors, IndicesWithinTheModel) {
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, head, ffn, {attention: {layers: [0, "
                         "5]}}]}\n",
                         stories()),
              "d.yaml:2:58: roles.a.units[3].attention.layers: layer 5 is out of range: the "
              "model has 5 layers (0-4)");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, head, {moe: {experts: [0, "
                         "1, 2, 3, 4]}}]}\n",
                         stories_moe()),
              "d.yaml:2:59: roles.a.units[3].moe.experts: expert 4 is out of range: the model "
              "has 4 experts (0-3)");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, head, {moe: {experts: [1, "
                         "1]}}]}\n",
                         stories_moe()),
              "d.yaml:2:59: roles.a.units[3].moe.experts: expert 1 is listed twice");
}

TEST(WorkerPlanErrors, ExpertsNeedAHomeAndAMoeModel) {
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, head, {moe: {experts: [0, "
                         "2]}}]}\n  b: {units: [{moe: {layers: [1], experts: [1, 3]}}]}\n",
                         stories_moe()),
              "d.yaml:2:3: roles: experts 1, 3 of layer 0 have no home");
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, moe, head]}\n", stories()),
              "d.yaml:2:37: roles.a.units[2]: model stories260K is dense (no experts): place "
              "its FFN with 'ffn'");
    EXPECT_EQ(
        plan_error("roles:\n  a: {units: [embedding, attention, moe, head, {ffn: {layers: "
                   "[2]}}]}\n",
                   stories_moe()),
        "d.yaml:2:3: roles.a: layer 2 has both a dense FFN (role 'a') and MoE experts (role 'a')");
}

TEST(WorkerPlanErrors, DpGroupsMustLineUp) {
    EXPECT_EQ(plan_error("roles:\n  a: {replicas: 2, units: [embedding, ffn, head, {attention: "
                         "{layers: [0]}}]}\n  b: {units: [{attention: {layers: [1, 2, 3, 4]}}]}\n",
                         stories()),
              "d.yaml:3:3: roles.b: replicas 1 differs from role 'a' (2): roles holding "
              "attention form data-parallel groups together");
}

TEST(WorkerPlan, ARoleNotLaunchedByTheFrontEndIsMarked) {
    const auto plans = plan_workers(
        parse_deployment("transport: shm\nroles:\n  a: {units: [embedding, attention, head], "
                         "addresses: [x]}\n  b: {launch: false, units: [ffn], addresses: [y]}\n",
                         "d.yaml"),
        stories());
    EXPECT_TRUE(plans[0].launch);
    EXPECT_FALSE(plans[1].launch);
    EXPECT_EQ(plan_error("roles:\n  a: {units: [embedding, attention, head]}\n  b: {launch: "
                         "false, units: [ffn]}\n",
                         stories()),
              "d.yaml:3:15: roles.b.launch: inproc workers are threads of the front end: they "
              "cannot be started elsewhere");
    EXPECT_EQ(plan_error("roles:\n  a: {launch: maybe, units: [embedding, attention, ffn, head]}\n",
                         stories()),
              "d.yaml:2:15: roles.a.launch: expected true or false, got 'maybe'");
}

TEST(WorkerPlanErrors, AddressesMatchTheTransport) {
    const HParams hp = stories();
    const std::string units = "units: [embedding, attention, ffn, head]";
    EXPECT_EQ(plan_error("roles:\n  a: {" + units + ", addresses: [x]}\n", hp),
              "d.yaml:2:60: roles.a.addresses: inproc workers share one process and take no "
              "address");
    EXPECT_EQ(
        plan_error("transport: shm\nroles:\n  a: {replicas: 2, " + units + ", addresses: [x]}\n",
                   hp),
        "d.yaml:3:73: roles.a.addresses: shm needs one address per replica: 2 replicas, "
        "1 addresses");
    EXPECT_EQ(plan_error("transport: ucx\nroles:\n  a: {" + units + "}\n", hp),
              "d.yaml:3:3: roles.a: ucx needs one address per replica: 1 replicas, 0 addresses");
    EXPECT_EQ(plan_error("transport: shm\nroles:\n  a: {" + units + ", addresses: [a/b]}\n", hp),
              "d.yaml:3:61: roles.a.addresses[0]: 'a/b' is not a shm name (letters, digits, "
              "'_', '.', '-')");
    const std::string ucx = "transport: ucx\nroles:\n  a: {" + units + ", addresses: [";
    EXPECT_EQ(plan_error(ucx + "10.0.0.1:80]}\n", hp),
              "d.yaml:3:61: roles.a.addresses[0]: '10.0.0.1:80' is not a loopback address "
              "(127.x.x.x)");
    EXPECT_EQ(plan_error(ucx + "10.0.0.1:80]}\n", hp, PlanOptions{.loopback_only = false}), "");
    EXPECT_EQ(plan_error(ucx + "127.0.0.1:0]}\n", hp),
              "d.yaml:3:61: roles.a.addresses[0]: port 0 is outside 1-65535");
    EXPECT_EQ(plan_error(ucx + "127.0.0.300:80]}\n", hp),
              "d.yaml:3:61: roles.a.addresses[0]: '127.0.0.300:80' has a bad host");
    EXPECT_EQ(plan_error(ucx + "localhost]}\n", hp),
              "d.yaml:3:61: roles.a.addresses[0]: 'localhost' is not an IPv4 host:port");
    EXPECT_EQ(plan_error("transport: ucx\nroles:\n  a: {units: [embedding, attention, head], "
                         "addresses: [127.0.0.1:9]}\n  b: {units: [ffn], addresses: "
                         "[127.0.0.1:9]}\n",
                         hp),
              "d.yaml:4:33: roles.b.addresses[0]: address '127.0.0.1:9' is already used by "
              "role 'a'");
}
