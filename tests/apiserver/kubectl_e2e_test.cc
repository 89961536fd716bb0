// Drives a fresh TLS + token brfed-apiserver with the real kubectl, as the issue's
// "Done when" lists, against the federation CRDs in deploy/crds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/harness/harness.h"

namespace brfed::testing {
namespace {

// The pinned kubectl that scripts/install-deps.sh builds (docs/kube-testenv.md), never
// whatever kubectl happens to be on PATH.
const std::string kKubectl = std::string(BRFED_TOOLS_BIN_DIR) + "/kubectl";

class KubectlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kKubectl.c_str(), X_OK), 0)
        << kKubectl << " is missing: run scripts/install-deps.sh (it builds the pinned kubectl)";
    std::filesystem::create_directories(dir_.File("home"));
    Result<ApiServer> server =
        StartApiServer({.dir = dir_.path(), .name = "e2e", .tls = true, .token = "e2e-token"});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  ProcessOptions KubectlOptions(std::vector<std::string> args) {
    return {kKubectl,
            std::move(args),
            {{"HOME", dir_.File("home")}, {"KUBECONFIG", server_.kubeconfig}}};
  }

  CommandResult Kubectl(std::vector<std::string> args) {
    return RunCommand(KubectlOptions(std::move(args)), 60s);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.File(name)) << text;
    return dir_.File(name);
  }

  TempDir dir_;
  ApiServer server_;
};

#define EXPECT_KUBECTL_OK(r) EXPECT_EQ((r).exit_code, 0) << (r).out << (r).err

TEST_F(KubectlE2eTest, VolumeBackupLifecycle) {
  EXPECT_KUBECTL_OK(Kubectl({"apply", "-f", std::string(BRFED_SOURCE_DIR) + "/deploy/crds/"}));
  EXPECT_KUBECTL_OK(Kubectl({"create", "namespace", "ns1"}));
  EXPECT_KUBECTL_OK(
      Kubectl({"create", "secret", "generic", "s", "-n", "ns1", "--from-literal=a=b"}));
  CommandResult secret = Kubectl({"get", "secret", "s", "-n", "ns1", "-o", "jsonpath={.data.a}"});
  EXPECT_EQ(secret.out, "Yg==");

  std::string vbk = Write("vbk.yaml", R"(apiVersion: federation.pingcap.com/v1alpha1
kind: VolumeBackup
metadata:
  name: vb1
  namespace: ns1
spec:
  clusters:
  - k8sClusterName: c1
    tcName: tc
    tcNamespace: tidb
)");
  CommandResult applied = Kubectl({"apply", "-f", vbk});
  EXPECT_KUBECTL_OK(applied);
  EXPECT_NE(applied.out.find("created"), std::string::npos);

  CommandResult table = Kubectl({"get", "vbk", "-n", "ns1"});
  EXPECT_KUBECTL_OK(table);
  for (const char* column : {"NAME", "STATUS", "BACKUPSIZE", "COMMITTS", "AGE", "vb1"}) {
    EXPECT_NE(table.out.find(column), std::string::npos) << column << "\n" << table.out;
  }
  CommandResult yaml = Kubectl({"get", "vbk", "vb1", "-n", "ns1", "-o", "yaml"});
  EXPECT_NE(yaml.out.find("uid:"), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("k8sClusterName: c1"), std::string::npos) << yaml.out;
  CommandResult describe = Kubectl({"describe", "vbk", "vb1", "-n", "ns1"});
  EXPECT_KUBECTL_OK(describe);
  EXPECT_NE(describe.out.find("vb1"), std::string::npos);

  CommandResult merge = Kubectl({"patch", "vbk", "vb1", "-n", "ns1", "--type=merge", "-p",
                                 R"({"metadata":{"labels":{"team":"db"}}})"});
  EXPECT_KUBECTL_OK(merge);
  CommandResult strategic =
      Kubectl({"patch", "vbk", "vb1", "-n", "ns1", "-p", R"({"metadata":{"labels":{"a":"b"}}})"});
  EXPECT_NE(strategic.exit_code, 0);
  EXPECT_NE(strategic.err.find("not supported"), std::string::npos) << strategic.err;

  // A watch streams the status change.
  ProcessOptions watch_opts = KubectlOptions({"get", "vbk", "-n", "ns1", "-w"});
  watch_opts.stdout_path = dir_.File("watch.out");
  watch_opts.stderr_path = dir_.File("watch.err");
  Result<std::unique_ptr<Process>> watch = Process::Start(watch_opts);
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(
      WaitFor([&] { return ReadFile(dir_.File("watch.out")).find("vb1") != std::string::npos; }));
  EXPECT_KUBECTL_OK(Kubectl({"patch", "vbk", "vb1", "-n", "ns1", "--subresource=status",
                             "--type=merge", "-p", R"({"status":{"phase":"Running"}})"}));
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(dir_.File("watch.out")).find("Running") != std::string::npos;
  })) << ReadFile(dir_.File("watch.out"))
      << ReadFile(dir_.File("watch.err"));
  (*watch)->Terminate();

  // kubectl wait returns once the condition is set.
  ProcessOptions wait_opts =
      KubectlOptions({"wait", "--for=condition=Complete", "vbk/vb1", "-n", "ns1", "--timeout=60s"});
  wait_opts.stdout_path = dir_.File("wait.out");
  wait_opts.stderr_path = dir_.File("wait.err");
  Result<std::unique_ptr<Process>> waiter = Process::Start(wait_opts);
  ASSERT_TRUE(waiter.ok());
  EXPECT_KUBECTL_OK(Kubectl(
      {"patch", "vbk", "vb1", "-n", "ns1", "--subresource=status", "--type=merge", "-p",
       R"({"status":{"phase":"Complete","conditions":[{"type":"Complete","status":"True"}]}})"}));
  Result<int> waited = (*waiter)->Wait(60s);
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(*waited, 0) << ReadFile(dir_.File("wait.err"));
  EXPECT_NE(ReadFile(dir_.File("wait.out")).find("condition met"), std::string::npos);

  // A stale update is a 409 Conflict.
  CommandResult current = Kubectl({"get", "vbk", "vb1", "-n", "ns1", "-o", "json"});
  std::string stale = Write("stale.json", current.out);
  EXPECT_KUBECTL_OK(Kubectl({"label", "vbk", "vb1", "-n", "ns1", "step=two"}));
  CommandResult replaced = Kubectl({"replace", "-f", stale});
  EXPECT_NE(replaced.exit_code, 0);
  EXPECT_NE(replaced.err.find("Conflict"), std::string::npos) << replaced.err;

  // A finalizer holds deletion until it is removed.
  EXPECT_KUBECTL_OK(Kubectl({"patch", "vbk", "vb1", "-n", "ns1", "--type=merge", "-p",
                             R"({"metadata":{"finalizers":["test.brfed/hold"]}})"}));
  EXPECT_KUBECTL_OK(Kubectl({"delete", "vbk", "vb1", "-n", "ns1", "--wait=false"}));
  CommandResult held =
      Kubectl({"get", "vbk", "vb1", "-n", "ns1", "-o", "jsonpath={.metadata.deletionTimestamp}"});
  EXPECT_KUBECTL_OK(held);
  EXPECT_FALSE(held.out.empty());
  EXPECT_KUBECTL_OK(Kubectl({"patch", "vbk", "vb1", "-n", "ns1", "--type=merge", "-p",
                             R"({"metadata":{"finalizers":null}})"}));
  CommandResult gone = Kubectl({"get", "vbk", "vb1", "-n", "ns1"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("NotFound"), std::string::npos) << gone.err;

  // An object that breaks the schema is rejected naming the field.
  std::string bad = Write("bad.yaml", R"(apiVersion: federation.pingcap.com/v1alpha1
kind: VolumeBackup
metadata:
  name: bad
  namespace: ns1
spec:
  clusters: not-a-list
)");
  CommandResult rejected = Kubectl({"apply", "-f", bad});
  EXPECT_NE(rejected.exit_code, 0);
  EXPECT_NE(rejected.err.find("spec.clusters"), std::string::npos) << rejected.err;
  EXPECT_NE(rejected.err.find("Invalid"), std::string::npos) << rejected.err;

  // Delete of a plain object.
  EXPECT_KUBECTL_OK(Kubectl({"apply", "-f", vbk}));
  EXPECT_KUBECTL_OK(Kubectl({"delete", "vbk", "vb1", "-n", "ns1"}));
}

}  // namespace
}  // namespace brfed::testing
