// Parsing deployment files: the structure they describe, and errors naming field and line.
#include "runtime/deployment/deployment.h"

#include <gtest/gtest.h>

using namespace ms::runtime;

namespace {

// The message of the DeploymentError the text raises, or "" when it parses.
std::string parse_error(const std::string& yaml) {
    try {
        parse_deployment(yaml, "d.yaml");
    } catch (const DeploymentError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(DeploymentParse, ReadsRolesUnitsReplicasAndAddresses) {
    const Deployment d = parse_deployment(R"(
name: three
transport: ucx
micro_batches: 2
attention: {dp: 3}
activations: int8
roles:
  attention:
    replicas: 2
    units: [embedding, attention, head]
    addresses: [127.0.0.1:7000, 127.0.0.1:7001]
  experts:
    units:
      - moe: {layers: [0, 2], experts: [1, 3]}
    addresses: [127.0.0.2:7002]
)",
                                          "d.yaml");
    EXPECT_EQ(d.name, "three");
    EXPECT_EQ(d.transport, Transport::ucx);
    EXPECT_EQ(d.micro_batches, 2);
    EXPECT_EQ(d.dp_groups, 3);
    EXPECT_TRUE(d.int8_activations);
    ASSERT_EQ(d.roles.size(), 2u);
    EXPECT_EQ(d.roles[0].name, "attention");
    EXPECT_EQ(d.roles[0].replicas, 2);
    ASSERT_EQ(d.roles[0].units.size(), 3u);
    EXPECT_EQ(d.roles[0].units[1].kind, UnitKind::attention);
    EXPECT_FALSE(d.roles[0].units[1].layers.has_value());
    ASSERT_EQ(d.roles[0].addresses.size(), 2u);
    EXPECT_EQ(d.roles[0].addresses[1].value, "127.0.0.1:7001");
    EXPECT_EQ(d.roles[1].name, "experts");
    const UnitEntry& moe = d.roles[1].units[0];
    EXPECT_EQ(moe.kind, UnitKind::moe);
    EXPECT_EQ(moe.layers, (std::vector<int>{0, 2}));
    EXPECT_EQ(moe.experts, (std::vector<int>{1, 3}));
    EXPECT_EQ(moe.origin.line, 14);  // the text starts with a newline
}

TEST(DeploymentParse, DefaultsAreInprocOneMicroBatchF32) {
    const Deployment d = parse_deployment("roles: {all: {units: [embedding]}}", "d.yaml");
    EXPECT_EQ(d.transport, Transport::inproc);
    EXPECT_EQ(d.micro_batches, 1);
    EXPECT_EQ(d.dp_groups, 1);
    EXPECT_FALSE(d.int8_activations);
    EXPECT_EQ(d.roles[0].replicas, 1);
    EXPECT_EQ(d.name, "d.yaml");
}

TEST(DeploymentParse, ErrorsNameFileLineAndField) {
    EXPECT_EQ(parse_error("transport: tcp\nroles: {a: {units: [head]}}"),
              "d.yaml:1:12: transport: expected one of inproc, shm, ucx, got 'tcp'");
    EXPECT_EQ(parse_error("micro_batches: 0\nroles: {a: {units: [head]}}"),
              "d.yaml:1:16: micro_batches: expected a whole number >= 1, got '0'");
    EXPECT_EQ(parse_error("micro_batches: 1.5\nroles: {a: {units: [head]}}"),
              "d.yaml:1:16: micro_batches: expected a whole number >= 1, got '1.5'");
    EXPECT_EQ(parse_error("micro_batches: 9\nroles: {a: {units: [head]}}"),
              "d.yaml:1:16: micro_batches: at most 8 micro-batches, got 9");
    EXPECT_EQ(parse_error("micro_batches: 4\nattention: {dp: 3}\nroles: {a: {units: [head]}}"),
              "d.yaml:2:17: attention.dp: DP groups times micro-batches must be at most 8, got 3 "
              "x 4");
    EXPECT_EQ(parse_error("attention: {dp: 0}\nroles: {a: {units: [head]}}"),
              "d.yaml:1:17: attention.dp: expected a whole number >= 1, got '0'");
    EXPECT_EQ(parse_error("name: x\n"), "d.yaml:1:1: missing field 'roles'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    units: [head, mlp]\n"),
              "d.yaml:3:19: roles.a.units[1]: expected one of embedding, attention, ffn, moe, "
              "head, got 'mlp'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    replicas: -1\n    units: [head]\n"),
              "d.yaml:3:15: roles.a.replicas: expected a whole number >= 1, got '-1'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    unit: [head]\n"),
              "d.yaml:3:5: roles.a.unit: unknown field 'unit'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    units:\n      - moe: {experts: [0, x]}\n"),
              "d.yaml:4:28: roles.a.units[0].moe.experts[1]: expected a whole number >= 0, "
              "got 'x'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    units:\n      - head: {layers: [0]}\n"),
              "d.yaml:4:24: roles.a.units[0].head.layers: head has no layers");
    EXPECT_EQ(parse_error("roles:\n  a:\n    units:\n      - head: {vocab_share: 1.5}\n"),
              "d.yaml:4:29: roles.a.units[0].head.vocab_share: expected a number above 0 and at "
              "most 1, got '1.5'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    units:\n      - ffn: {vocab_share: 0.5}\n"),
              "d.yaml:4:15: roles.a.units[0].ffn.vocab_share: unknown field 'vocab_share'");
    EXPECT_EQ(parse_error("roles:\n  a:\n    units:\n      - ffn: {experts: [0]}\n"),
              "d.yaml:4:15: roles.a.units[0].ffn.experts: unknown field 'experts'");
    EXPECT_EQ(parse_error("activations: fp8\nroles: {a: {units: [head]}}"),
              "d.yaml:1:14: activations: expected f32 or int8, got 'fp8'");
    EXPECT_EQ(parse_error("roles: {a: {units: []}}"),
              "d.yaml:1:20: roles.a.units: a role needs at least one unit");
    EXPECT_EQ(parse_error("roles: [a]"), "d.yaml:1:8: roles: expected a map");
    EXPECT_EQ(parse_error("roles: {}"), "d.yaml:1:8: roles: no roles");
    EXPECT_EQ(parse_error(""), "d.yaml:1:1: empty file: expected a map with 'roles'");
    EXPECT_EQ(parse_error("roles:\n  a: {units: [head]}\n  a: {units: [ffn]}\n"),
              "d.yaml:3:3: roles.a: role 'a' is defined twice");
    EXPECT_EQ(parse_error("roles:\n  a/b: {units: [head]}\n"),
              "d.yaml:2:3: roles.a/b: a role name is 1-64 letters, digits, '_' or '-', got 'a/b'");
}

TEST(DeploymentParse, OldSpellingsNameTheNewKey) {
    EXPECT_EQ(parse_error("dp_groups: 2\nroles: {a: {units: [head]}}"),
              "d.yaml:1:12: dp_groups: 'dp_groups' is no longer read: write attention: {dp: N}");
}

TEST(DeploymentParse, RefusesWhatOnlyTheSimulatorModels) {
    EXPECT_EQ(parse_error("instances: 2\nroles: {a: {units: [head]}}"),
              "d.yaml:1:12: instances: one instance is run");
    EXPECT_EQ(parse_error("attention: {tp: 2}\nroles: {a: {units: [head]}}"),
              "d.yaml:1:17: attention.tp: attention tensor parallelism is not run");
    EXPECT_EQ(parse_error("moe: {ep: 2}\nroles: {a: {units: [head]}}"),
              "d.yaml:1:6: moe: the runtime places experts by role: {moe: {experts: [...]}} in a "
              "role's units");
}

TEST(DeploymentParse, MalformedYamlNamesTheLine) {
    const std::string e = parse_error("roles:\n  a: {units: [head]\n");
    EXPECT_EQ(e.rfind("d.yaml:3:", 0), 0u) << e;
}

TEST(DeploymentParse, MissingFileIsAClearError) {
    try {
        load_deployment("/nonexistent/d.yaml");
        FAIL();
    } catch (const DeploymentError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/d.yaml: cannot open file");
    }
}

TEST(DeploymentParse, OddShapesGiveErrorsNotCrashes) {
    for (const char* yaml : {"", "42", "roles:", "roles: {a: }", "roles: {a: {units: head}}",
                             "roles: {a: {units: [{}]}}", "roles: {a: {units: [{[x]: y}]}}",
                             "roles: {a: {units: [{moe: [1]}]}}", "roles: {[x]: {units: [head]}}",
                             "roles: {a: {units: [head], addresses: x}}", "name: [x]\nroles: {}",
                             "roles: {a: {units: [{attention: {layers: 3}}]}}"}) {
        SCOPED_TRACE(yaml);
        EXPECT_NE(parse_error(yaml), "");
    }
}
