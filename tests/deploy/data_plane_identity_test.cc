// docs/deploy.md step 1 done by hand on a real kube-apiserver with RBAC:
// deploy/data-plane/rbac.yaml applied as it ships, the token of its token Secret (filled by the
// service-account token controller brfed-kube-testenv runs), the federation kubeconfig built
// with the page's `kubectl config` commands; the manager then completes a backup and a restore
// in that data plane with that identity alone, without a single forbidden request; and
// `kubectl delete -f` of the file revokes it. Then the same with the identity and context
// `brfed clusters join` made (TokenRequest, and --token-secret with `brfed backup create --wait`),
// and a join with --secret that a running manager picks up from its kubelet-style Secret mount.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "kube/pem.h"
#include "kube/resource.h"
#include "tests/deploy/deploy_util.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/kube_clients.h"

namespace brfed::testing {
namespace {

constexpr char kTcNamespace[] = "tidb-cluster";  // the namespace rbac.yaml's RoleBinding names

void ExpectKubectlOk(const Result<CommandResult>& r, const std::string& what) {
  ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << what << ": " << r->err;
}

std::string TrimmedOut(const Result<CommandResult>& r) {
  std::string s = r.ok() ? r->out : "";
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string KubectlBinary() { return Tool("kubectl").value_or("kubectl-not-built"); }

// What the server answers the identity of context `context` of `kubeconfig` for `args`.
Result<CommandResult> KubectlAs(const std::string& kubeconfig, const std::string& context,
                                std::vector<std::string> args) {
  args.insert(args.begin(), {"--kubeconfig", kubeconfig, "--context", context});
  return RunTool("kubectl", args);
}

// The identity may read Backups but is refused Secrets, in its own namespace and elsewhere, and
// writing other kinds: the server's authorizer answers, not a review.
void ExpectRefusedSecretsAndOtherKinds(const std::string& kubeconfig, const std::string& context) {
  auto backups = KubectlAs(kubeconfig, context, {"-n", kTcNamespace, "get", "backups"});
  ExpectKubectlOk(backups, "the identity lists Backups");
  for (const std::vector<std::string>& refused : std::vector<std::vector<std::string>>{
           {"-n", "br-federation", "get", "secrets"},
           {"-n", kTcNamespace, "get", "secrets"},
           {"get", "secrets", "-A"},
           {"-n", kTcNamespace, "create", "configmap", "x", "--from-literal=a=b"},
           {"-n", kTcNamespace, "patch", "tidbcluster", "basic", "--type=merge", "-p",
            R"({"spec":{"paused":true}})"}}) {
    auto r = KubectlAs(kubeconfig, context, refused);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NE(r->exit_code, 0) << ::testing::PrintToString(refused) << ": " << r->out;
    EXPECT_NE(r->err.find("forbidden"), std::string::npos)
        << ::testing::PrintToString(refused) << ": " << r->err;
  }
}

// A token the server no longer accepts (its ServiceAccount or Secret is gone).
void ExpectTokenRevoked(const std::string& kubeconfig, const std::string& context) {
  Result<CommandResult> whoami = InternalError("not run");
  EXPECT_TRUE(WaitFor(
      [&] {
        whoami = KubectlAs(kubeconfig, context, {"auth", "whoami"});
        return whoami.ok() && whoami->exit_code != 0;
      },
      60s))
      << (whoami.ok() ? whoami->out : whoami.status().ToString());
  ASSERT_TRUE(whoami.ok()) << whoami.status().ToString();
  EXPECT_NE(whoami->err.find("Unauthorized"), std::string::npos) << whoami->err;
}

// TiDB Operator's CRDs (the sandbox's copies stand in for them) and the TidbCluster's namespace.
void InstallOperatorCrds(KubeApiServer& dp) {
  for (const char* crd : {"backups", "restores", "tidbclusters"}) {
    ExpectKubectlOk(
        dp.Kubectl({"apply", "--server-side", "-f",
                    SourcePath(std::string("deploy/crds/test/pingcap.com_") + crd + ".yaml")}),
        crd);
  }
  ExpectKubectlOk(
      dp.Kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"}, 90s),
      "CRDs established");
  ExpectKubectlOk(dp.Kubectl({"create", "namespace", kTcNamespace}), "tc namespace");
}

// Waits until the federation object `name` is in one of `ends`; returns its last state.
// A VolumeRestore created right after its backup completed may be Invalid for a moment (the
// manager's VolumeBackup cache has not seen Complete yet) and is checked again when it has:
// for restores, Invalid is not an end.
Json WaitForEnd(kube::Client& control, const kube::Resource& r, const std::string& ns,
                const std::string& name,
                const std::set<std::string>& ends = {"Complete", "Failed", "Invalid"}) {
  Json seen;
  WaitFor(
      [&] {
        auto got = control.Get(r, ns, name);
        if (got.ok()) seen = *got;
        return ends.contains(JsonStringAt(seen, {"status", "phase"}));
      },
      180s);
  return seen;
}

// A restore of the backup into the same TidbCluster, prepared as an operator does (recovery
// mode on, with admin rights): the member identity creates and follows the Restore member.
void ExpectRestoreCompletes(KubeApiServer& dp, kube::Client& control, const std::string& ns) {
  auto admin = KubeClientFor(dp.kubeconfig());
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  auto recovery = (*admin)->Patch(kube::resources::TidbCluster(), kTcNamespace, "basic",
                                  kube::PatchType::kMerge, {{"spec", {{"recoveryMode", true}}}});
  ASSERT_TRUE(recovery.ok()) << recovery.status().ToString();
  Json vr = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
             {"kind", "VolumeRestore"},
             {"metadata", {{"name", "with-member-identity"}, {"namespace", ns}}},
             {"spec",
              {{"volumeBackupName", "with-member-identity"},
               {"clusters", Json::array({{{"k8sClusterName", "dp1"},
                                          {"tcName", "basic"},
                                          {"tcNamespace", kTcNamespace},
                                          {"azName", "us-west-2a"}}})},
               {"template", {{"br", {{"sendCredToTikv", false}}}}}}}};
  auto created = control.Create(kube::resources::VolumeRestore(), ns, vr);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const Json restore = WaitForEnd(control, kube::resources::VolumeRestore(), ns,
                                  "with-member-identity", {"Complete", "Failed"});
  EXPECT_EQ(JsonStringAt(restore, {"status", "phase"}), "Complete") << DumpJson(restore);
}

// The simulated TiDB Operator in the data plane and the manager with federation kubeconfig
// `fed` (context dp1): a VolumeBackup and then a VolumeRestore of it complete, and the manager
// was refused nothing. `before_backup` runs once the manager is up (with `fed` as it is then);
// the backup starts once the manager's log shows `then_wait_for_log`. The backup is created by
// the client library, or with `backup_cli`, by docs/deploy.md's `brfed backup create --wait`.
enum class CreateBackup { kByClient, kByBrfedWait };

// docs/deploy.md step 4: `brfed --kubeconfig control backup create NAME -n NS --cluster
// dp1=TC_NS/basic --bucket B --wait` returns 0 once the VolumeBackup is Complete.
void CreateBackupWithBrfedWait(const std::string& control_kubeconfig, const std::string& ns,
                               const std::string& log) {
  ProcessOptions p;
  p.binary = std::string(BRFED_BINARY_DIR) + "/src/cli/brfed";
  p.args = {"--kubeconfig",
            control_kubeconfig,
            "backup",
            "create",
            "with-member-identity",
            "-n",
            ns,
            "--cluster",
            std::string("dp1=") + kTcNamespace + "/basic",
            "--bucket",
            "bk",
            "--prefix",
            "identity",
            "--wait",
            "--timeout",
            "3m"};
  p.env = {{"NO_COLOR", "1"}};
  CommandResult created = RunCommand(p, 240s);
  EXPECT_EQ(created.exit_code, 0) << created.out << created.err << ReadFile(log);
  EXPECT_NE(created.out.find("Complete"), std::string::npos) << created.out;
}

void ExpectBackupAndRestoreComplete(KubeApiServer& dp, const std::string& fed,
                                    const std::function<void()>& before_backup = {},
                                    const std::string& then_wait_for_log = "",
                                    CreateBackup create = CreateBackup::kByClient) {
  auto env = FederationEnv::Start({.data_planes = {"unused"}});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  // TiDB Operator in the data plane (admin rights, as the operator has).
  ProcessOptions sim;
  sim.binary = SimBinary();
  sim.args = {"--cluster",   "dp1=" + dp.kubeconfig(),   "--tc-namespace",
              kTcNamespace,  "--zero-latency",           "--tikv-per-cluster",
              "1",           "--volumes-per-store",      "1",
              "--audit-log", dp.dir().File("audit.log"), "--admin-addr",
              "127.0.0.1:0"};
  sim.stderr_path = dp.dir().File("sim.err");
  auto sim_process = Process::Start(sim);
  ASSERT_TRUE(sim_process.ok()) << sim_process.status().ToString();

  ProcessOptions m;
  m.binary = ManagerBinary();
  m.args = {"--kubeconfig",
            (*env)->control_plane().kubeconfig,
            "--federation-kubeconfig-path",
            fed,
            "--leader-elect=false",
            "--namespace",
            (*env)->ns(),
            "--metrics-addr",
            "0",
            "-v=4"};
  m.stderr_path = dp.dir().File("manager.err");
  auto manager = Process::Start(m);
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();

  auto control = KubeClientFor((*env)->control_plane().kubeconfig);
  ASSERT_TRUE(control.ok()) << control.status().ToString();
  if (before_backup) {
    ASSERT_TRUE(WaitFor(
        [&] { return ReadFile(m.stderr_path).find("data planes loaded") != std::string::npos; },
        60s))
        << ReadFile(m.stderr_path);
    ASSERT_NO_FATAL_FAILURE(before_backup());
    ASSERT_TRUE(WaitFor(
        [&] { return ReadFile(m.stderr_path).find(then_wait_for_log) != std::string::npos; }, 60s))
        << "the manager did not pick up the change:\n"
        << ReadFile(m.stderr_path);
  }
  Json vb = {
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeBackup"},
      {"metadata", {{"name", "with-member-identity"}, {"namespace", (*env)->ns()}}},
      {"spec",
       {{"clusters",
         Json::array(
             {{{"k8sClusterName", "dp1"}, {"tcName", "basic"}, {"tcNamespace", kTcNamespace}}})},
        {"template",
         {{"br", {{"sendCredToTikv", false}}},
          {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", "identity"}}}}}}}};
  if (create == CreateBackup::kByBrfedWait) {
    ASSERT_NO_FATAL_FAILURE(
        CreateBackupWithBrfedWait((*env)->control_plane().kubeconfig, (*env)->ns(), m.stderr_path));
  } else {
    auto created = (*control)->Create(kube::resources::VolumeBackup(), (*env)->ns(), vb);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  const Json backup =
      WaitForEnd(**control, kube::resources::VolumeBackup(), (*env)->ns(), "with-member-identity");
  EXPECT_EQ(JsonStringAt(backup, {"status", "phase"}), "Complete")
      << DumpJson(backup) << ReadFile(m.stderr_path) << ReadFile(sim.stderr_path);
  ASSERT_NO_FATAL_FAILURE(ExpectRestoreCompletes(dp, **control, (*env)->ns()));
  EXPECT_TRUE((*manager)->Running()) << "the manager never restarted";
  const std::string log = ReadFile(m.stderr_path);
  for (const char* refused : {"forbidden", "Forbidden", " 403"}) {
    EXPECT_EQ(log.find(refused), std::string::npos) << "the manager was refused something:\n"
                                                    << log;
  }
}

// Each test has its own data plane: a real kube-apiserver with TiDB Operator's CRDs.
class DataPlaneIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = KubeApiServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    data_plane_ = std::move(*started);
    ASSERT_NO_FATAL_FAILURE(InstallOperatorCrds(*data_plane_));
  }
  KubeApiServer& data_plane() { return *data_plane_; }

 private:
  std::unique_ptr<KubeApiServer> data_plane_;
};

TEST_F(DataPlaneIdentity, ManagerCompletesABackupAndARestoreWithTheShippedRbac) {
  KubeApiServer& dp = data_plane();
  ExpectKubectlOk(dp.Kubectl({"apply", "-f", SourcePath("deploy/data-plane/rbac.yaml")}),
                  "deploy/data-plane/rbac.yaml");

  // The token, as the page reads it: the token Secret's, once the token controller filled it.
  std::string token;
  ASSERT_TRUE(WaitFor(
      [&] {
        token = TrimmedOut(RunShell(KubectlBinary() + " --kubeconfig " + dp.kubeconfig() +
                                    " -n br-federation get secret br-federation-member-token"
                                    " -o jsonpath='{.data.token}' | base64 -d"));
        return !token.empty();
      },
      60s))
      << "the token Secret was never filled";
  // The page's alternative, a token that expires, authenticates as the same account.
  auto expiring = dp.Kubectl(
      {"-n", "br-federation", "create", "token", "br-federation-member", "--duration", "8760h"});
  ExpectKubectlOk(expiring, "create token");
  auto whoami = dp.Kubectl({"--token", TrimmedOut(expiring), "auth", "whoami", "-o",
                            "jsonpath={.status.userInfo.username}"});
  EXPECT_EQ(TrimmedOut(whoami), "system:serviceaccount:br-federation:br-federation-member");
  const std::string server = TrimmedOut(
      dp.Kubectl({"config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"}));
  auto ca = dp.Kubectl({"config", "view", "--minify", "--raw", "-o",
                        "jsonpath={.clusters[0].cluster.certificate-authority-data}"});
  ExpectKubectlOk(ca, "ca data");
  ProcessOptions b64;
  b64.binary = "/usr/bin/base64";
  b64.args = {"-d", dp.dir().File("ca.b64")};
  WriteFile(dp.dir().File("ca.b64"), ca->out);
  CommandResult decoded = RunCommand(b64);
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  const std::string ca_file = dp.dir().File("dp1-ca.crt");
  WriteFile(ca_file, decoded.out);

  const std::string fed = dp.dir().File("federation.kubeconfig");
  auto fed_kubectl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--kubeconfig", fed});
    return RunTool("kubectl", args);
  };
  ExpectKubectlOk(fed_kubectl({"config", "set-cluster", "dp1", "--server", server,
                               "--certificate-authority", ca_file, "--embed-certs"}),
                  "set-cluster");
  ExpectKubectlOk(fed_kubectl({"config", "set-credentials", "dp1", "--token", token}),
                  "set-credentials");
  ExpectKubectlOk(
      fed_kubectl({"config", "set-context", "dp1", "--cluster", "dp1", "--user", "dp1"}),
      "set-context");

  ASSERT_NO_FATAL_FAILURE(ExpectRefusedSecretsAndOtherKinds(fed, "dp1"));
  ExpectBackupAndRestoreComplete(dp, fed);

  // The page's uninstall for the identity made by hand: the file deleted again revokes it.
  // --ignore-not-found: the token controller deletes the token Secret as soon as kubectl has
  // deleted its ServiceAccount, so without it kubectl fails on the Secret (found by this test).
  ExpectKubectlOk(
      dp.Kubectl({"delete", "-f", SourcePath("deploy/data-plane/rbac.yaml"), "--ignore-not-found"},
                 120s),
      "kubectl delete -f deploy/data-plane/rbac.yaml --ignore-not-found");
  ExpectTokenRevoked(fed, "dp1");
  auto gone = dp.Kubectl({"get", "clusterrole,clusterrolebinding", "-o", "name"});
  ExpectKubectlOk(gone, "list roles");
  EXPECT_EQ(gone->out.find("br-federation-member"), std::string::npos) << gone->out;
}

// `brfed clusters join dp1` for the data plane `dp`, writing `federation_kubeconfig`, plus `extra`.
ProcessOptions JoinDp1(KubeApiServer& dp, const std::string& federation_kubeconfig,
                       std::vector<std::string> extra) {
  ProcessOptions join;
  join.binary = std::string(BRFED_BINARY_DIR) + "/src/cli/brfed";
  join.args = {"clusters",           "join",           "dp1",        "--kubeconfig",
               dp.kubeconfig(),      "--tc-namespace", kTcNamespace, "--federation-kubeconfig",
               federation_kubeconfig};
  join.args.insert(join.args.end(), extra.begin(), extra.end());
  return join;
}

// The same with the identity and context `brfed clusters join` made.
TEST_F(DataPlaneIdentity, ManagerCompletesABackupAndARestoreWithTheIdentityJoinMade) {
  KubeApiServer& dp = data_plane();
  const std::string fed = dp.dir().File("federation.kubeconfig");
  CommandResult joined = RunCommand(JoinDp1(dp, fed, {}), 90s);
  ASSERT_EQ(joined.exit_code, 0) << joined.out << joined.err;
  ExpectBackupAndRestoreComplete(dp, fed);
}

// The same through a token Secret (upstream's docs' way; --token-secret): the token in the
// federation kubeconfig is the Secret's, the identity is refused Secrets, docs/deploy.md's
// `brfed backup create --wait` ends in success and a restore completes; leave revokes it.
TEST_F(DataPlaneIdentity, ManagerCompletesABackupAndARestoreWithATokenSecretJoinMade) {
  KubeApiServer& dp = data_plane();
  const std::string fed = dp.dir().File("federation.kubeconfig");
  CommandResult joined = RunCommand(JoinDp1(dp, fed, {"--token-secret"}), 120s);
  ASSERT_EQ(joined.exit_code, 0) << joined.out << joined.err;
  EXPECT_NE(joined.out.find("from Secret br-federation/brfed-dp1-token"), std::string::npos)
      << joined.out;
  auto secret_token = dp.Kubectl(
      {"-n", "br-federation", "get", "secret", "brfed-dp1-token", "-o", "jsonpath={.data.token}"});
  ExpectKubectlOk(secret_token, "the token Secret");
  const Json kubeconfig = ParseYaml(ReadFile(fed)).value_or(Json());
  ASSERT_EQ(kubeconfig.value("users", Json::array()).size(), 1u) << DumpJson(kubeconfig);
  EXPECT_EQ(JsonStringAt(kubeconfig["users"][0], {"user", "token"}),
            kube::DecodeBase64(secret_token->out).value_or("(bad base64)"));
  auto whoami =
      KubectlAs(fed, "dp1", {"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"});
  EXPECT_EQ(TrimmedOut(whoami), "system:serviceaccount:br-federation:brfed-dp1");
  ASSERT_NO_FATAL_FAILURE(ExpectRefusedSecretsAndOtherKinds(fed, "dp1"));

  ExpectBackupAndRestoreComplete(dp, fed, {}, "", CreateBackup::kByBrfedWait);

  ProcessOptions leave = JoinDp1(dp, dp.dir().File("left.kubeconfig"), {});
  leave.args = {"clusters",
                "leave",
                "dp1",
                "--kubeconfig",
                dp.kubeconfig(),
                "--federation-kubeconfig",
                dp.dir().File("left.kubeconfig")};
  CommandResult left = RunCommand(leave, 90s);
  ASSERT_EQ(left.exit_code, 0) << left.out << left.err;
  EXPECT_EQ(dp.Kubectl({"-n", "br-federation", "get", "secret", "brfed-dp1-token"})->exit_code, 1);
  ExpectTokenRevoked(fed, "dp1");
}

// What the kubelet does to a Secret volume: each sync writes the keys into a fresh timestamped
// directory, points `..data_tmp` at it and renames that over `..data` (one atomic switch), links
// each key `<dir>/<key> -> ..data/<key>` and removes the previous version.
void ProjectSecret(KubeApiServer& server, const std::string& ns, const std::string& name,
                   const std::string& dir) {
  namespace fs = std::filesystem;
  auto data = server.Kubectl({"-n", ns, "get", "secret", name, "-o", "jsonpath={.data}"});
  ExpectKubectlOk(data, "get secret " + name);
  const Json keys = ParseJson(data->out).value_or(Json::object());
  ASSERT_FALSE(keys.empty()) << data->out;
  static int version = 0;
  const std::string fresh = "..2026_12_05_00_00_00." + std::to_string(++version);
  fs::create_directories(dir + "/" + fresh);
  for (const auto& [key, value] : keys.items()) {
    WriteFile(dir + "/" + fresh + "/" + key,
              kube::DecodeBase64(value.get<std::string>()).value_or(""));
  }
  std::error_code ec;
  const fs::path old =
      fs::is_symlink(dir + "/..data", ec) ? fs::read_symlink(dir + "/..data") : fs::path();
  fs::create_directory_symlink(fresh, dir + "/..data_tmp");
  fs::rename(dir + "/..data_tmp", dir + "/..data");
  for (const auto& [key, value] : keys.items()) {
    if (!fs::is_symlink(dir + "/" + key, ec)) fs::create_symlink("..data/" + key, dir + "/" + key);
  }
  if (!old.empty()) fs::remove_all(dir + "/" + old.string(), ec);
}

// docs/deploy.md's --secret flow with a running manager: the chart mounts the control plane's
// br-federation-kubeconfig Secret; `brfed clusters join --secret` rewrites it; the kubelet
// projects the new version (the ..data symlink swap above) and the manager, started before the
// join with no data planes, picks up dp1 without a restart and completes a backup and a restore
// there with the identity join made. (The Secret lives in the data plane's server here, which
// stands in for the control plane's.)
TEST_F(DataPlaneIdentity, ARunningManagerPicksUpAJoinThroughItsSecretMount) {
  KubeApiServer& dp = data_plane();
  const std::string empty = dp.dir().File("empty.kubeconfig");
  WriteFile(empty, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  ExpectKubectlOk(dp.Kubectl({"create", "namespace", "br-federation"}), "namespace");
  ExpectKubectlOk(dp.Kubectl({"-n", "br-federation", "create", "secret", "generic",
                              "br-federation-kubeconfig", "--from-file=kubeconfig=" + empty}),
                  "the chart's Secret");
  const std::string mount = dp.dir().File("federation-kubeconfig");
  ASSERT_NO_FATAL_FAILURE(ProjectSecret(dp, "br-federation", "br-federation-kubeconfig", mount));

  ExpectBackupAndRestoreComplete(
      dp, mount + "/kubeconfig",
      [&] {
        CommandResult joined =
            RunCommand(JoinDp1(dp, dp.dir().File("federation.kubeconfig"),
                               {"--secret", "br-federation/br-federation-kubeconfig",
                                "--control-kubeconfig", dp.kubeconfig()}),
                       90s);
        ASSERT_EQ(joined.exit_code, 0) << joined.out << joined.err;
        ASSERT_NO_FATAL_FAILURE(
            ProjectSecret(dp, "br-federation", "br-federation-kubeconfig", mount));
      },
      "data-plane member caches synced cluster=dp1");
}

}  // namespace
}  // namespace brfed::testing
