#include "cli/sandbox.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cli/process.h"
#include "kube/kubeconfig.h"

namespace brfed::cli {
namespace {

TEST(LocateSandboxBinaries, FindsBuildTreeSiblingsAndCrds) {
  const std::set<std::string> files = {
      "/b/src/apiserver/brfed-apiserver", "/b/src/sim/tidb-operator-sim",
      "/b/src/manager/br-federation-manager", "/s/deploy/crds/test"};
  auto exists = [&](const std::string& p) { return files.count(p) > 0; };
  Result<SandboxBinaries> bin = LocateSandboxBinaries({"/b/src/cli/brfed", "/s"}, exists);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(bin->apiserver, "/b/src/apiserver/brfed-apiserver");
  EXPECT_EQ(bin->sim, "/b/src/sim/tidb-operator-sim");
  EXPECT_EQ(bin->manager, "/b/src/manager/br-federation-manager");
  EXPECT_EQ(bin->crd_dir, "/s/deploy/crds");
}

TEST(LocateSandboxBinaries, MissingPiecesSayHowToGetThem) {
  auto nothing = [](const std::string&) { return false; };
  Result<SandboxBinaries> bin = LocateSandboxBinaries({"/b/src/cli/brfed", "/s"}, nothing);
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find("--target brfed-apiserver"), std::string::npos);
  const std::set<std::string> only_bins = {"/opt/bin/brfed-apiserver", "/opt/bin/tidb-operator-sim",
                                           "/opt/bin/br-federation-manager"};
  Result<SandboxBinaries> no_crds = LocateSandboxBinaries(
      {"/opt/bin/brfed", "/s"}, [&](const std::string& p) { return only_bins.count(p) > 0; });
  ASSERT_FALSE(no_crds.ok());
  EXPECT_NE(no_crds.status().message().find("BRFED_CRD_DIR"), std::string::npos);
}

TEST(LocateSandboxBinaries, KubeUsesTheTestenvAndUpstreamsCrds) {
  const std::string up = "/w/shared/upstream/tidb-operator-release-1.6/manifests/crd/v1/";
  std::set<std::string> files = {"/w/s/build/tools/bin/brfed-kube-testenv",
                                 "/w/s/build/asan/src/sim/tidb-operator-sim",
                                 "/w/s/build/asan/src/manager/br-federation-manager",
                                 "/w/s/deploy/crds/test",
                                 up + "pingcap.com_backups.yaml",
                                 up + "pingcap.com_restores.yaml",
                                 up + "pingcap.com_tidbclusters.yaml"};
  auto exists = [&](const std::string& p) { return files.count(p) > 0; };
  SandboxSearch search{"/w/s/build/asan/src/cli/brfed", "/w/s", "", "", SandboxApiServer::kKube};
  Result<SandboxBinaries> bin = LocateSandboxBinaries(search, exists);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(bin->apiserver, "/w/s/build/tools/bin/brfed-kube-testenv");
  EXPECT_EQ(bin->data_plane_crds, (std::vector<std::string>{up + "pingcap.com_backups.yaml",
                                                            up + "pingcap.com_restores.yaml",
                                                            up + "pingcap.com_tidbclusters.yaml"}));
  // The default backend does not need the testenv and serves our test CRDs.
  search.apiserver = SandboxApiServer::kBrfed;
  files.insert("/w/s/build/asan/src/apiserver/brfed-apiserver");
  bin = LocateSandboxBinaries(search, exists);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(bin->data_plane_crds, std::vector<std::string>{"/w/s/deploy/crds/test"});

  // Missing pieces name the fix.
  search.apiserver = SandboxApiServer::kKube;
  files.erase("/w/s/build/tools/bin/brfed-kube-testenv");
  bin = LocateSandboxBinaries(search, exists);
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find("run scripts/install-deps.sh"), std::string::npos)
      << bin.status().message();
  files.insert("/w/s/build/tools/bin/brfed-kube-testenv");
  files.erase(up + "pingcap.com_restores.yaml");
  bin = LocateSandboxBinaries(search, exists);
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find("BRFED_UPSTREAM_CRD_DIR"), std::string::npos);
  search.upstream_crd_override = "/elsewhere";
  files.insert("/elsewhere/pingcap.com_backups.yaml");
  files.insert("/elsewhere/pingcap.com_restores.yaml");
  files.insert("/elsewhere/pingcap.com_tidbclusters.yaml");
  bin = LocateSandboxBinaries(search, exists);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(bin->data_plane_crds[0], "/elsewhere/pingcap.com_backups.yaml");
}

TEST(ParseSandboxApiServer, NamesBothChoicesOnABadValue) {
  EXPECT_EQ(*ParseSandboxApiServer("kube"), SandboxApiServer::kKube);
  EXPECT_EQ(*ParseSandboxApiServer("brfed-apiserver"), SandboxApiServer::kBrfed);
  Result<SandboxApiServer> bad = ParseSandboxApiServer("k8s");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("brfed-apiserver or kube"), std::string::npos);
}

TEST(SandboxState, RoundTripsThroughJson) {
  SandboxState s;
  s.dir = "/d";
  s.clusters = {"dp-1", "dp-2"};
  s.ns = "default";
  s.tc_namespace = "tidb";
  s.tc_name = "basic";
  s.processes = {{"control", "/b/brfed-apiserver", 42, "/d/logs/control.log", "http://x"}};
  Result<SandboxState> back = SandboxState::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->clusters, s.clusters);
  ASSERT_EQ(back->processes.size(), 1u);
  EXPECT_EQ(back->processes[0].pid, 42);
  EXPECT_EQ(back->processes[0].binary, "/b/brfed-apiserver");
  EXPECT_FALSE(SandboxState::FromJson(Json::array()).ok());
}

TEST(SandboxEnvFile, ExportsBothKubeconfigs) {
  const std::string env = SandboxEnvFile("/d", "default");
  EXPECT_NE(env.find("export KUBECONFIG=/d/control.kubeconfig\n"), std::string::npos);
  EXPECT_NE(env.find("export BRFED_FEDERATION_KUBECONFIG=/d/federation.kubeconfig\n"),
            std::string::npos);
  EXPECT_NE(env.find("export BRFED_SANDBOX_DIR=/d\n"), std::string::npos);
}

TEST(Process, CmdlineMatchesComparesArgvZeroOnly) {
  using namespace std::string_literals;
  EXPECT_TRUE(CmdlineMatches("/b/brfed-apiserver\0--listen\0"s, "/b/brfed-apiserver"));
  EXPECT_FALSE(CmdlineMatches("/b/brfed-apiserver-old\0"s, "/b/brfed-apiserver"));
  EXPECT_FALSE(CmdlineMatches(""s, "/b/brfed-apiserver"));
}

TEST(Process, SpawnsDetachedAndTerminatesOnlyTheRightBinary) {
  const std::string log = ::testing::TempDir() + "/spawn.log";
  Result<pid_t> pid = SpawnDetached("/bin/sleep", {"30"}, log);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  EXPECT_TRUE(IsRunning(*pid, "/bin/sleep"));
  EXPECT_FALSE(IsRunning(*pid, "/bin/cat"));
  EXPECT_FALSE(Terminate(*pid, "/bin/cat", std::chrono::seconds(1)));  // wrong binary: untouched
  EXPECT_TRUE(IsRunning(*pid, "/bin/sleep"));
  EXPECT_TRUE(Terminate(*pid, "/bin/sleep", std::chrono::seconds(5)));
  EXPECT_FALSE(IsRunning(*pid, "/bin/sleep"));
  Result<pid_t> missing = SpawnDetached("/nonexistent/binary", {}, log);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/binary"), std::string::npos);
}

}  // namespace
}  // namespace brfed::cli
