#include "launch/commands.h"

#include <gtest/gtest.h>

namespace brfed::launch {
namespace {

using Args = std::vector<std::string>;

TEST(ApiServerArgsTest, OnlyTheFlagsThatAreSetAppear) {
  EXPECT_EQ(ApiServerArgs({.name = "c1", .kubeconfig_out = "/k"}),
            (Args{"--kubeconfig-out", "/k", "--name", "c1"}));
  EXPECT_EQ(ApiServerArgs({.name = "cp",
                           .kubeconfig_out = "/k",
                           .listen = "127.0.0.1:0",
                           .tls = true,
                           .token = "t",
                           .data_dir = "/d",
                           .crd_paths = {"/a.yaml", "/b"}}),
            (Args{"--kubeconfig-out", "/k", "--name", "cp", "--listen", "127.0.0.1:0", "--tls",
                  "--token", "t", "--data-dir", "/d", "--crd", "/a.yaml", "--crd", "/b"}));
}

TEST(ReportedReadyTest, OnlyAReadyLineCounts) {
  EXPECT_TRUE(ReportedReady("ready https://127.0.0.1:1\n"));
  EXPECT_TRUE(ReportedReady("etcd up\nready https://127.0.0.1:1\n"));
  EXPECT_FALSE(ReportedReady(""));
  EXPECT_FALSE(ReportedReady("not ready https://x\n"));
  EXPECT_FALSE(ReportedReady("ready soon\n"));
}

TEST(SimulatorArgsTest, EveryClusterThenAdminAndAudit) {
  EXPECT_EQ(SimulatorArgs({{{"c1", "/c1.kc"}, {"c2", "/c2.kc"}}, "127.0.0.1:0", "/audit"}),
            (Args{"--cluster", "c1=/c1.kc", "--cluster", "c2=/c2.kc", "--admin-addr", "127.0.0.1:0",
                  "--audit-log", "/audit"}));
}

TEST(ManagerArgsTest, ControlPlaneFederationNamespaceAndMetrics) {
  EXPECT_EQ(ManagerArgs({"/cp.kc", "/fed.kc", "ns", "127.0.0.1:0"}),
            (Args{"--kubeconfig", "/cp.kc", "--federation-kubeconfig-path", "/fed.kc",
                  "--namespace", "ns", "--metrics-addr", "127.0.0.1:0"}));
}

TEST(FederationCrdFilesTest, TheThreeFederationKinds) {
  EXPECT_EQ(FederationCrdFiles().size(), 3u);
  for (const std::string& f : FederationCrdFiles()) {
    EXPECT_EQ(f.rfind("federation.pingcap.com_", 0), 0u) << f;
  }
}

}  // namespace
}  // namespace brfed::launch
