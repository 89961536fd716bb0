#include "sim/model.h"

#include <gtest/gtest.h>

namespace brfed::sim {
namespace {

TEST(Topology, ParsesYamlWithQuantities) {
  auto t = ParseTopology(
      "clusters:\n- name: a\n  tcNamespace: ns\n  tcName: tc\n  tikvStores: 3\n"
      "  volumesPerStore: 2\n  volumeSize: 1Ti\n- name: b\n");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->clusters.size(), 2u);
  EXPECT_EQ(t->clusters[0].volume_size, int64_t{1} << 40);
  EXPECT_EQ(t->clusters[1].tikv_stores, 3);
  Json tc = BuildTidbCluster(t->clusters[0]);
  EXPECT_TRUE(tc["spec"]["acrossK8s"].get<bool>());
  EXPECT_EQ(tc["spec"]["tikv"]["replicas"], 3);
  EXPECT_EQ(tc["spec"]["tikv"]["storageVolumes"].size(), 1u);
  EXPECT_EQ(tc["status"]["tikv"]["stores"].size(), 3u);
}

TEST(Topology, BadInputIsAClearError) {
  for (const char* bad :
       {"", "[]", "clusters: []", "clusters: [{}]", "clusters: [{name: a}, {name: a}]",
        "clusters: [{name: a, tikvStores: 0}]", "clusters: [{name: a, volumeSize: lots}]",
        "clusters: [7]", "{{{"}) {
    auto t = ParseTopology(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find("topology"), std::string::npos) << bad;
    }
  }
}

TEST(Quantity, Parses) {
  EXPECT_EQ(*ParseQuantity("100Gi"), int64_t{100} << 30);
  EXPECT_EQ(*ParseQuantity("5M"), 5000000);
  EXPECT_EQ(*ParseQuantity("12"), 12);
  EXPECT_FALSE(ParseQuantity("Gi").ok());
  EXPECT_FALSE(ParseQuantity("-1").ok());
  EXPECT_FALSE(ParseQuantity("99999999999Ti").ok());
}

TEST(Faults, ParseSpecs) {
  auto f = ParseFault("slow@c2/fed-x,factor=4");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, FaultKind::kSlow);
  EXPECT_EQ(f->cluster, "c2");
  EXPECT_EQ(f->name, "fed-x");
  EXPECT_EQ(f->factor, 4);
  EXPECT_TRUE(ParseFault("restore-volume-fail@*,after-meta")->after_meta);
  EXPECT_TRUE(ParseFault("restore-volume-fail@*")->cluster.empty());
  EXPECT_FALSE(ParseFault("boom").ok());
  EXPECT_FALSE(ParseFault("slow,factor=-1").ok());
  EXPECT_FALSE(ParseFault("slow,what").ok());
}

TEST(Pd, TsoAndPauseWithTtl) {
  Timing t = Timing::Scaled(1, false, false);
  Model m(Topology{}, t);
  Time now(std::chrono::milliseconds(1000));
  EXPECT_EQ(Model::Tso(now), uint64_t{1000} << 18);
  m.PausePd("nobody#init", now);
  EXPECT_TRUE(m.PdPaused());
  m.Advance(now + std::chrono::seconds(10));
  EXPECT_TRUE(m.PdPaused());  // within the TTL
  m.Advance(now + std::chrono::seconds(31));
  EXPECT_FALSE(m.PdPaused());  // no keep-alive: expired
  auto audit = m.TakeAudit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1]["event"], "pd_pause_expired");
}

TEST(TimingScale, SpeedAndZeroLatency) {
  Timing fast = Timing::Scaled(10, false, true);
  EXPECT_EQ(fast.pod_start, std::chrono::milliseconds(200));
  EXPECT_EQ(*fast.resync, std::chrono::seconds(3));
  Timing zero = Timing::Scaled(1, true, false);
  EXPECT_EQ(zero.pod_start, Duration(0));
  EXPECT_FALSE(zero.resync.has_value());
}

TEST(TimingScale, SnapshotDurationStandsApartFromZeroLatency) {
  Timing zero = Timing::Scaled(1, true, false);
  zero.SetSnapshotDuration(std::chrono::seconds(2));
  EXPECT_EQ(zero.snapshot_base, std::chrono::seconds(2));
  EXPECT_EQ(zero.snapshot_per_gib, Duration(0));
  EXPECT_EQ(zero.size_calc, std::chrono::seconds(2));
  EXPECT_EQ(zero.br_warmup, Duration(0));
}

}  // namespace
}  // namespace brfed::sim
