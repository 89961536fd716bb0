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
  Result<SandboxBinaries> bin = LocateSandboxBinaries("/b/src/cli/brfed", "/s", "", exists);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(bin->apiserver, "/b/src/apiserver/brfed-apiserver");
  EXPECT_EQ(bin->sim, "/b/src/sim/tidb-operator-sim");
  EXPECT_EQ(bin->manager, "/b/src/manager/br-federation-manager");
  EXPECT_EQ(bin->crd_dir, "/s/deploy/crds");
}

TEST(LocateSandboxBinaries, MissingPiecesSayHowToGetThem) {
  auto nothing = [](const std::string&) { return false; };
  Result<SandboxBinaries> bin = LocateSandboxBinaries("/b/src/cli/brfed", "/s", "", nothing);
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find("--target brfed-apiserver"), std::string::npos);
  const std::set<std::string> only_bins = {"/opt/bin/brfed-apiserver", "/opt/bin/tidb-operator-sim",
                                           "/opt/bin/br-federation-manager"};
  Result<SandboxBinaries> no_crds = LocateSandboxBinaries(
      "/opt/bin/brfed", "/s", "", [&](const std::string& p) { return only_bins.count(p) > 0; });
  ASSERT_FALSE(no_crds.ok());
  EXPECT_NE(no_crds.status().message().find("BRFED_CRD_DIR"), std::string::npos);
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
