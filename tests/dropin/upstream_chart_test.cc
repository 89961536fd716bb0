// The drop-in on a real kube-apiserver with RBAC: upstream's own chart
// (../shared/upstream/.../charts/br-federation), rendered by the pinned helm with only `image`
// changed (default values, clusterScoped=false, appendReleaseSuffix=true); its ServiceAccount
// and RBAC applied unchanged; upstream's federation CRDs on the control plane and pingcap.com
// CRDs on the data planes (BRFED_TEST_FEDERATION_CRDS=upstream, BRFED_TEST_APISERVER=kube);
// the data planes reached with the identity upstream's docs create there (a ServiceAccount bound
// to a ClusterRole with `*` on backups and restores). Our manager runs as the Deployment's
// container would: exactly the rendered command and environment, the ServiceAccount's token,
// CA and namespace in /var/run/secrets/kubernetes.io/serviceaccount, the kubeconfig Secret at
// /etc/br-federation/federation-kubeconfig, all in a private mount namespace (run_in_pod.sh).
// A backup, a restore and a schedule complete, a VolumeBackup the Go manager left mid-flight is
// handed over, and TCP 6060 (the liveness probe) answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "api/labels.h"
#include "kube/pem.h"
#include "kube/resource.h"
#include "tests/deploy/deploy_util.h"
#include "tests/dropin/go_era.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/kube_clients.h"
#include "tests/harness/objects.h"

namespace brfed::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kTcNs[] = "tidb";
const std::vector<std::string> kClusters = {"c1", "c2"};

std::string UpstreamChart() {
  return SourcePath("../shared/upstream/tidb-operator-release-1.6/charts/br-federation");
}

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.pop_back();
  return s;
}

// The chart's liveness probe: a TCP connect to 6060.
bool TcpAnswers(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// One rendering of the chart, as the kubelet would run its Deployment's container.
struct RenderedPod {
  std::string service_account;
  std::string kubeconfig_secret;  // the Secret behind the federation-kubeconfig volume
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> env;  // fieldRefs resolved
  std::string deployment;                                // its name
  std::vector<Json> objects;                             // everything rendered
};

class UpstreamChartDropIn : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(TestBackend(), Backend::kKube) << "this suite needs RBAC: run it as kube.*";
    auto env = FederationEnv::Start({.data_planes = kClusters});
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    auto cp = KubeClientFor(env_->control_plane().kubeconfig);
    ASSERT_TRUE(cp.ok()) << cp.status().ToString();
    cp_ = *cp;
    for (const auto& c : kClusters) {
      auto dp = KubeClientFor(env_->data_plane(c).kubeconfig);
      ASSERT_TRUE(dp.ok()) << dp.status().ToString();
      dp_[c] = *dp;
    }
    ASSERT_NO_FATAL_FAILURE(WriteUpstreamDocsFederationKubeconfig());
  }
  static void TearDownTestSuite() {
    dp_.clear();
    cp_.reset();
    env_.reset();
  }

  static Result<CommandResult> Kubectl(const std::string& kubeconfig,
                                       std::vector<std::string> args) {
    args.insert(args.begin(), {"--kubeconfig", kubeconfig});
    return RunTool("kubectl", args, 90s);
  }
  static void ExpectKubectl(const std::string& kubeconfig, const std::vector<std::string>& args) {
    auto r = Kubectl(kubeconfig, args);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->exit_code, 0) << "kubectl " << args[0] << " " << args[1] << ": " << r->err;
  }
  static std::string KubectlOut(const std::string& kubeconfig,
                                const std::vector<std::string>& args) {
    auto r = Kubectl(kubeconfig, args);
    EXPECT_TRUE(r.ok() && r->exit_code == 0)
        << (r.ok() ? r->err : r.status().ToString()) << " (kubectl " << args[0] << ")";
    return r.ok() ? Trimmed(r->out) : "";
  }

  // Upstream's data-plane preparation in each data plane: a ServiceAccount in tidb-admin, a
  // ClusterRole with every verb on pingcap.com backups and restores, its binding, and a
  // kubeconfig with the account's token; the contexts merged into one federation kubeconfig.
  static void WriteUpstreamDocsFederationKubeconfig() {
    auto merged = ParseYaml(ReadFile(env_->federation_kubeconfig()));
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    for (const auto& c : kClusters) {
      const std::string& kc = env_->data_plane(c).kubeconfig;
      ExpectKubectl(kc, {"create", "namespace", "tidb-admin"});
      ExpectKubectl(kc, {"-n", "tidb-admin", "create", "serviceaccount", "br-federation-member"});
      ExpectKubectl(kc, {"create", "clusterrole", "br-federation-member", "--verb=*",
                         "--resource=backups.pingcap.com,restores.pingcap.com"});
      ExpectKubectl(kc, {"create", "clusterrolebinding", "br-federation-member",
                         "--clusterrole=br-federation-member",
                         "--serviceaccount=tidb-admin:br-federation-member"});
      const std::string token = KubectlOut(
          kc, {"-n", "tidb-admin", "create", "token", "br-federation-member", "--duration", "2h"});
      ASSERT_FALSE(token.empty());
      for (Json& ctx : (*merged)["contexts"]) {
        if (JsonStringAt(ctx, {"name"}) != c) continue;
        for (Json& u : (*merged)["users"]) {
          if (u["name"] == ctx["context"]["user"]) u["user"] = {{"token", token}};
        }
      }
    }
    federation_kubeconfig_ = env_->dir().File("upstream-docs-federation.kubeconfig");
    WriteFile(federation_kubeconfig_, DumpJson(*merged));
  }

  // helm template with upstream's chart; only the image (and `sets`) changed.
  static Result<RenderedPod> Render(const std::string& release, const std::string& ns,
                                    std::vector<std::string> sets) {
    sets.push_back("image=brfed/br-federation-manager:dropin-test");
    BRFED_ASSIGN_OR_RETURN(std::string yaml, HelmTemplateChart(UpstreamChart(), release, ns, sets));
    BRFED_ASSIGN_OR_RETURN(std::vector<Json> docs, ParseYamlDocuments(yaml));
    RenderedPod pod;
    const Json* deployment = nullptr;
    for (const Json& d : docs) {
      if (!d.is_object()) continue;
      if (JsonStringAt(d, {"kind"}) == "Deployment") deployment = &d;
      pod.objects.push_back(d);
    }
    if (deployment == nullptr) return InvalidArgument("the chart rendered no Deployment");
    pod.deployment = JsonStringAt(*deployment, {"metadata", "name"});
    const Json& spec = (*deployment)["spec"]["template"]["spec"];
    pod.service_account = JsonStringAt(spec, {"serviceAccount"});
    pod.kubeconfig_secret = JsonStringAt(spec["volumes"][0], {"secret", "secretName"});
    const Json& container = spec["containers"][0];
    for (const Json& arg : container["command"]) pod.command.push_back(arg.get<std::string>());
    for (const Json& e : container["env"]) {
      std::string value = JsonStringAt(e, {"value"});
      if (const Json* ref = JsonAt(e, {"valueFrom", "fieldRef", "fieldPath"}); ref != nullptr) {
        if (*ref != "metadata.namespace")
          return InvalidArgument("unexpected fieldRef " + DumpJson(e));
        value = ns;
      }
      pod.env.emplace_back(JsonStringAt(e, {"name"}), value);
    }
    return pod;
  }

  // Applies the chart's objects unchanged, creates the federation kubeconfig Secret as
  // upstream's docs do, scales the Deployment to 0 as docs/migrate.md step 3 says (no kubelet
  // runs it here: this process plays its Pod), and lays out what the kubelet mounts in
  // `pod_dir`: the Secret's keys, and a TokenRequest token, the CA and the namespace.
  static void InstallAndMount(const RenderedPod& pod, const std::string& ns,
                              const std::string& pod_dir) {
    const std::string& admin = env_->control_plane().kubeconfig;
    ExpectKubectl(admin, {"create", "namespace", ns});
    std::string stream;
    for (const Json& o : pod.objects) stream += "---\n" + DumpJson(o) + "\n";
    const std::string file = pod_dir + ".chart.yaml";
    WriteFile(file, stream);
    ExpectKubectl(admin, {"apply", "-f", file});
    ExpectKubectl(admin, {"-n", ns, "scale", "deploy", pod.deployment, "--replicas=0"});
    EXPECT_EQ(KubectlOut(admin, {"-n", ns, "get", "deploy", pod.deployment, "-o",
                                 "jsonpath={.spec.replicas}"}),
              "0");
    ExpectKubectl(admin, {"-n", ns, "create", "secret", "generic", pod.kubeconfig_secret,
                          "--from-file=kubeconfig=" + federation_kubeconfig_});

    fs::create_directories(pod_dir + "/serviceaccount");
    fs::create_directories(pod_dir + "/federation-kubeconfig");
    auto secret = cp_->Get(kube::resources::Secret(), ns, pod.kubeconfig_secret);
    ASSERT_TRUE(secret.ok()) << secret.status().ToString();
    for (const auto& [key, b64] : (*secret)["data"].items()) {
      auto decoded = kube::DecodeBase64(b64.get<std::string>());
      ASSERT_TRUE(decoded.ok()) << key;
      WriteFile(pod_dir + "/federation-kubeconfig/" + key, *decoded);
    }
    const std::string token =
        KubectlOut(admin, {"-n", ns, "create", "token", pod.service_account, "--duration", "1h"});
    ASSERT_FALSE(token.empty());
    WriteFile(pod_dir + "/serviceaccount/token", token);
    WriteFile(pod_dir + "/serviceaccount/ca.crt", env_->control_plane().ca_pem);
    WriteFile(pod_dir + "/serviceaccount/namespace", ns);
  }

  // The container: unshare → run_in_pod.sh → env -i <rendered env + service host/port> command.
  static Result<std::unique_ptr<Process>> StartContainer(const RenderedPod& pod,
                                                         const std::string& pod_dir) {
    const std::string url = env_->control_plane().url;  // https://127.0.0.1:PORT
    const auto colon = url.rfind(':');
    ProcessOptions o;
    o.binary = "/usr/bin/unshare";
    o.args = {
        "--mount", "--propagation", "private", "/bin/sh", SourcePath("tests/dropin/run_in_pod.sh"),
        pod_dir,   ManagerBinary()};
    for (const auto& [k, v] : pod.env) o.args.push_back(k + "=" + v);
    o.args.push_back("KUBERNETES_SERVICE_HOST=127.0.0.1");
    o.args.push_back("KUBERNETES_SERVICE_PORT=" + url.substr(colon + 1));
    o.args.insert(o.args.end(), pod.command.begin(), pod.command.end());
    o.stdout_path = pod_dir + ".out";
    o.stderr_path = pod_dir + ".err";
    return Process::Start(o);
  }

  static Json Get(const kube::Resource& r, const std::string& ns, const std::string& name) {
    auto got = cp_->Get(r, ns, name);
    return got.ok() ? *got : Json();
  }
  static Json WaitEnd(const kube::Resource& r, const std::string& ns, const std::string& name) {
    Json seen;
    WaitFor(
        [&] {
          seen = Get(r, ns, name);
          const std::string phase = JsonStringAt(seen, {"status", "phase"});
          return phase == "Complete" || phase == "Failed" || phase == "Invalid";
        },
        240s);
    return seen;
  }

  static void ExpectBackupCompletes(const std::string& ns, const std::string& name,
                                    const std::string& log) {
    auto created =
        cp_->Create(kube::resources::VolumeBackup(), ns, VolumeBackupObject(ns, name, kClusters));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Json end = WaitEnd(kube::resources::VolumeBackup(), ns, name);
    EXPECT_EQ(JsonStringAt(end, {"status", "phase"}), "Complete") << DumpJson(end) << ReadFile(log);
  }

  // A restore of backup `backup` into the same TidbClusters, prepared as an operator does
  // (recovery mode on); each cluster's source is the S3 location its member Backup wrote,
  // in upstream's form (clusters[].backup).
  static void ExpectRestoreCompletes(const std::string& ns, const std::string& backup,
                                     const std::string& log) {
    Json vr = {
        {"apiVersion", "federation.pingcap.com/v1alpha1"},
        {"kind", "VolumeRestore"},
        {"metadata", {{"name", backup + "-restore"}, {"namespace", ns}}},
        {"spec",
         {{"clusters", Json::array()}, {"template", {{"br", {{"sendCredToTikv", false}}}}}}}};
    const Status prepared = env_->PrepareRestoreTargets(kClusters);
    ASSERT_TRUE(prepared.ok()) << prepared.ToString() << env_->SimLog();
    for (const auto& c : kClusters) {
      auto member = dp_[c]->Get(kube::resources::Backup(), kTcNs, "fed-" + backup);
      ASSERT_TRUE(member.ok()) << member.status().ToString();
      vr["spec"]["clusters"].push_back({{"k8sClusterName", c},
                                        {"tcName", "basic"},
                                        {"tcNamespace", kTcNs},
                                        {"azName", "us-west-2-" + c},
                                        {"backup", {{"s3", (*member)["spec"]["s3"]}}}});
    }
    // First with a context the federation kubeconfig lacks: Invalid, then re-checked and
    // started once the spec is fixed (README: an Invalid VolumeRestore starts once fixed).
    const Json clusters = vr["spec"]["clusters"];
    vr["spec"]["clusters"][1]["k8sClusterName"] = "nowhere";
    auto created = cp_->Create(kube::resources::VolumeRestore(), ns, vr);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Json invalid = WaitEnd(kube::resources::VolumeRestore(), ns, backup + "-restore");
    ASSERT_EQ(JsonStringAt(invalid, {"status", "phase"}), "Invalid") << DumpJson(invalid);
    ASSERT_TRUE(cp_->Patch(kube::resources::VolumeRestore(), ns, backup + "-restore",
                           kube::PatchType::kMerge, Json{{"spec", {{"clusters", clusters}}}})
                    .ok());
    Json end;
    WaitFor(
        [&] {
          end = Get(kube::resources::VolumeRestore(), ns, backup + "-restore");
          const std::string phase = JsonStringAt(end, {"status", "phase"});
          return phase == "Complete" || phase == "Failed";
        },
        240s);
    EXPECT_EQ(JsonStringAt(end, {"status", "phase"}), "Complete") << DumpJson(end) << ReadFile(log);
  }

  // A schedule firing every second creates a backup; paused then, every backup it made
  // completes.
  static void ExpectScheduledBackupCompletes(const std::string& ns, const std::string& name,
                                             const std::string& log) {
    Json s = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
              {"kind", "VolumeBackupSchedule"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec",
               {{"schedule", "@every 1s"}, {"backupTemplate", VolumeBackupSpec(name, kClusters)}}}};
    auto created = cp_->Create(kube::resources::VolumeBackupSchedule(), ns, s);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    std::vector<std::string> made;
    auto list_made = [&] {
      made.clear();
      auto list = cp_->List(kube::resources::VolumeBackup(), ns);
      if (!list.ok()) return;
      for (const Json& vb : (*list)["items"]) {
        const std::string n = JsonStringAt(vb, {"metadata", "name"});
        if (n.rfind(name + "-", 0) == 0) made.push_back(n);
      }
    };
    ASSERT_TRUE(WaitFor(
        [&] {
          list_made();
          return !made.empty();
        },
        120s))
        << DumpJson(Get(kube::resources::VolumeBackupSchedule(), ns, name)) << ReadFile(log);
    ASSERT_TRUE(cp_->Patch(kube::resources::VolumeBackupSchedule(), ns, name,
                           kube::PatchType::kMerge, Json{{"spec", {{"pause", true}}}})
                    .ok());
    list_made();
    for (const auto& vb : made) {
      Json end = WaitEnd(kube::resources::VolumeBackup(), ns, vb);
      EXPECT_EQ(JsonStringAt(end, {"status", "phase"}), "Complete") << vb << DumpJson(end);
    }
  }

  // Where the Go manager stopped a VolumeBackup `name` (with no manager running): its
  // initialize member built as Go builds it, GC paused in c1, status Running as Go writes it
  // (into the object: upstream's CRDs have no status subresource).
  static void LeaveGoEraBackup(const std::string& ns, const std::string& name) {
    Json vb = GoEraVolumeBackup(name, ns, kClusters, kTcNs);
    ASSERT_TRUE(cp_->Create(kube::resources::VolumeBackup(), ns, vb).ok());
    auto member = dp_[kClusters[0]]->Create(kube::resources::Backup(), kTcNs,
                                            GoBackupMember(vb, kClusters[0], "initialize"));
    ASSERT_TRUE(member.ok()) << member.status().ToString();
    Json status = GoBackupStatus(vb, "Running", {{kClusters[0], ""}});
    ASSERT_TRUE(cp_->Patch(kube::resources::VolumeBackup(), ns, name, kube::PatchType::kMerge,
                           Json{{"status", status}})
                    .ok());
  }
  // Ours, under the chart's identity and upstream's, adopts the Go-built member and completes.
  static void ExpectGoEraBackupCompletes(const std::string& ns, const std::string& name,
                                         const std::string& log) {
    Json end = WaitEnd(kube::resources::VolumeBackup(), ns, name);
    EXPECT_EQ(JsonStringAt(end, {"status", "phase"}), "Complete") << DumpJson(end) << ReadFile(log);
    for (const auto& c : kClusters) {
      auto member = dp_[c]->Get(kube::resources::Backup(), kTcNs, "fed-" + name);
      ASSERT_TRUE(member.ok()) << c << ": " << member.status().ToString();
      EXPECT_EQ(JsonStringAt(*member, {"metadata", "labels", api::kManagedByLabel}),
                "br-federation-manager")
          << c << ": adopted or made by ours " << DumpJson(*member);
    }
    EXPECT_NE(ReadFile(log).find("Adopted"), std::string::npos) << ReadFile(log);
  }

  // One rendering end to end: install, start the container, check the probe port and the
  // Lease, run a backup, a restore and a schedule in `work_ns`, then stop it cleanly. With
  // `hand_over`, a VolumeBackup the Go manager left mid-flight is there first.
  static void RunRendering(const std::string& release, const std::string& release_ns,
                           const std::vector<std::string>& sets, const std::string& work_ns,
                           const std::string& lease, bool hand_over = false) {
    auto pod = Render(release, release_ns, sets);
    ASSERT_TRUE(pod.ok()) << pod.status().ToString();
    const std::string pod_dir = env_->dir().File("pod-" + release);
    ASSERT_NO_FATAL_FAILURE(InstallAndMount(*pod, release_ns, pod_dir));
    if (work_ns != release_ns) {
      ExpectKubectl(env_->control_plane().kubeconfig, {"create", "namespace", work_ns});
    }
    if (hand_over) {
      ASSERT_NO_FATAL_FAILURE(LeaveGoEraBackup(work_ns, release + "-go-era"));
    }
    auto container = StartContainer(*pod, pod_dir);
    ASSERT_TRUE(container.ok()) << container.status().ToString();
    const std::string log = pod_dir + ".err";
    EXPECT_TRUE(WaitFor([] { return TcpAnswers(6060); }, 120s)) << ReadFile(log);
    EXPECT_TRUE(WaitFor(
        [&] {
          return !JsonStringAt(Get(kube::resources::Lease(), release_ns, lease),
                               {"spec", "holderIdentity"})
                      .empty();
        },
        120s))
        << "Lease " << release_ns << "/" << lease << " never held\n"
        << ReadFile(log);
    if (hand_over) ExpectGoEraBackupCompletes(work_ns, release + "-go-era", log);
    ExpectBackupCompletes(work_ns, release + "-backup", log);
    ExpectRestoreCompletes(work_ns, release + "-backup", log);
    ExpectScheduledBackupCompletes(work_ns, release + "-nightly", log);
    EXPECT_TRUE((*container)->Running()) << ReadFile(log);
    EXPECT_TRUE(TcpAnswers(6060));
    const std::string text = ReadFile(log);
    for (const char* refused : {"forbidden", "Forbidden", " 403"}) {
      EXPECT_EQ(text.find(refused), std::string::npos) << "the manager was refused something:\n"
                                                       << text;
    }
    (*container)->Terminate();
    auto code = (*container)->Wait(30s);
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    EXPECT_EQ(*code, 0) << ReadFile(log);
  }

  static inline std::unique_ptr<FederationEnv> env_;
  static inline std::shared_ptr<kube::Client> cp_;
  static inline std::map<std::string, std::shared_ptr<kube::Client>> dp_;
  static inline std::string federation_kubeconfig_;
};

// Default values: cluster-scoped (ClusterRole), the backups in a namespace of their own, and
// a VolumeBackup the Go manager left mid-flight handed over.
TEST_F(UpstreamChartDropIn, DefaultValues) {
  RunRendering("fed", "br-fed-admin", {}, "tidb-backups", "br-federation-manager",
               /*hand_over=*/true);
}

// clusterScoped=false: a Role in the release namespace, -cluster-scoped=false, and the
// federation objects in that namespace.
TEST_F(UpstreamChartDropIn, NamespaceScoped) {
  RunRendering("fedns", "br-fed-ns", {"clusterScoped=false"}, "br-fed-ns", "br-federation-manager");
}

// appendReleaseSuffix=true: the ServiceAccount and Deployment carry the release name, and
// HELM_RELEASE names the Lease.
TEST_F(UpstreamChartDropIn, AppendReleaseSuffix) {
  RunRendering("fedsfx", "br-fed-sfx", {"appendReleaseSuffix=true"}, "tidb-backups-sfx",
               "br-federation-manager-fedsfx");
}

TEST_F(UpstreamChartDropIn, ZzAuditLogIsClean) {
  auto result = env_->CheckAuditLog();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace brfed::testing
