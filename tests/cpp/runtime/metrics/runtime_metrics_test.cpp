#include "runtime/metrics/runtime_metrics.h"

#include <gtest/gtest.h>

namespace ms::runtime {
namespace {

TEST(RuntimeMetrics, UnitKindIsTheNameAfterTheLayer) {
    EXPECT_EQ(unit_kind("blk.3.attn"), "attn");
    EXPECT_EQ(unit_kind("blk.12.attn_mla"), "attn_mla");
    EXPECT_EQ(unit_kind("blk.0.moe"), "moe");
    EXPECT_EQ(unit_kind("embed"), "embed");
    EXPECT_EQ(unit_kind("head"), "head");
}

TEST(RuntimeMetrics, RegistryRendersEverySourceInOrder) {
    MetricsRegistry registry;
    EXPECT_EQ(registry.render("m=\"x\""), "");
    registry.add([](std::string& out, const std::string& labels) { out += "a{" + labels + "}\n"; });
    registry.add([](std::string& out, const std::string&) { out += "b\n"; });
    EXPECT_EQ(registry.render("m=\"x\""), "a{m=\"x\"}\nb\n");
}

TEST(RuntimeMetrics, TransportSamplesNameEachWorkerAndDirection) {
    WorkerGroup group;
    group.plans.resize(3);
    group.plans[1].name = "ffn-a/0";
    group.plans[2].name = "ffn-b/0";
    group.peers.addresses.assign(3, "inproc://runtime-metrics-test");
    auto front = transport::make_transport(group.peers, 0);
    auto worker = transport::make_transport(group.peers, 2);
    front->send(2, 1, transport::Bytes(40));
    worker->recv(0, 1, transport::Milliseconds(1000));
    worker->send(0, 1, transport::Bytes(8));
    front->recv(2, 1, transport::Milliseconds(1000));

    std::string out;
    transport_source(*front, group)(out, "model_name=\"m\"");
    const std::string prefix = "matrixserve:transport_bytes_total{model_name=\"m\",peer=";
    EXPECT_NE(out.find(prefix + "\"ffn-b/0\",direction=\"sent\"} 40\n"), std::string::npos) << out;
    EXPECT_NE(out.find(prefix + "\"ffn-b/0\",direction=\"received\"} 8\n"), std::string::npos);
    EXPECT_NE(out.find(prefix + "\"ffn-a/0\",direction=\"sent\"} 0\n"), std::string::npos);
    EXPECT_NE(out.find("# TYPE matrixserve:transport_seconds_total counter\n"), std::string::npos);
    EXPECT_EQ(out.find("peer=\"\""), std::string::npos) << "the front end is not its own peer";
}

}  // namespace
}  // namespace ms::runtime
