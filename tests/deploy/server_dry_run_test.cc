// What the chart and kustomize render passes validation by a real kube-apiserver
// (brfed-kube-testenv) with our CRDs installed: `kubectl apply --dry-run=server`; and
// docs/deploy.md's install, upgrade and uninstall commands run for real there, with the
// Deployment and ReplicaSet controllers making the Pods (Pending: no scheduler, no kubelet).
#include <gtest/gtest.h>

#include "kube/pem.h"
#include "tests/deploy/deploy_util.h"

namespace brfed::testing {
namespace {

class ServerDryRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = KubeApiServer::Start({"--workload-controllers"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    for (const char* ns : {"br-fed", "br-federation", "rbac", "tidb-cluster", "elsewhere"}) {
      auto r = server_->Kubectl({"create", "namespace", ns});
      ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.status().ToString());
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  // The pinned helm against this server.
  static Result<CommandResult> Helm(std::vector<std::string> args) {
    args.insert(args.begin(), {"--kubeconfig", server_->kubeconfig()});
    return RunTool("helm", args, 120s);
  }
  static void ExpectOk(const Result<CommandResult>& r, const std::string& what) {
    ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
    EXPECT_EQ(r->exit_code, 0) << what << ":\n" << r->out << r->err;
  }

  // Applies `manifest` with --dry-run=server and returns kubectl's output (or fails).
  static void DryRun(const std::string& manifest, const std::string& what) {
    ASSERT_NE(server_, nullptr);
    std::string file = server_->dir().File("manifest.yaml");
    WriteFile(file, manifest);
    auto r = server_->Kubectl({"apply", "--dry-run=server", "-f", file});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exit_code, 0) << what << ":\n" << r->err;
    EXPECT_NE(r->out.find("deployment.apps/"), std::string::npos) << what << ":\n" << r->out;
    EXPECT_NE(r->out.find("(server dry run)"), std::string::npos) << r->out;
  }

  static void DryRunChart(const std::vector<std::string>& sets) {
    auto manifest = HelmTemplate("fed", "br-fed", sets, {"--include-crds"});
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    DryRun(*manifest, "helm template " + ::testing::PrintToString(sets));
  }

  static void DryRunKustomize(const std::string& dir) {
    auto rendered = RunTool("kubectl", {"kustomize", SourcePath(dir)});
    ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
    ASSERT_EQ(rendered->exit_code, 0) << rendered->err;
    DryRun(rendered->out, dir);
  }

  static std::unique_ptr<KubeApiServer> server_;
};

std::unique_ptr<KubeApiServer> ServerDryRun::server_;

TEST_F(ServerDryRun, ChartDefaults) { DryRunChart({}); }

TEST_F(ServerDryRun, ChartNamespaced) { DryRunChart({"clusterScoped=false"}); }

TEST_F(ServerDryRun, ChartReleaseSuffixAndOptionalKeys) {
  DryRunChart({"appendReleaseSuffix=true", "brFederationManager.replicas=2",
               "brFederationManager.workers=3", "brFederationManager.kubeClientQPS=20",
               "brFederationManager.securityContext.fsGroup=2000",
               "brFederationManager.tolerations[0].key=dedicated",
               "brFederationManager.tolerations[0].operator=Exists"});
}

TEST_F(ServerDryRun, KustomizeBase) { DryRunKustomize("deploy/kustomize/base"); }

TEST_F(ServerDryRun, KustomizeNamespaced) { DryRunKustomize("deploy/kustomize/namespaced"); }

// The server really validates: a Deployment with a bad field is refused.
TEST_F(ServerDryRun, ServerRejectsABrokenRender) {
  auto manifest = HelmTemplate("fed", "br-fed", {"brFederationManager.replicas=-1"});
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  std::string file = server_->dir().File("broken.yaml");
  WriteFile(file, *manifest);
  auto r = server_->Kubectl({"apply", "--dry-run=server", "-f", file});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("replicas"), std::string::npos) << r->err;
}

// `kubectl auth can-i VERB RESOURCE -n NS --as USER`: true for yes.
bool CanI(const KubeApiServer& server, const std::string& user, const std::string& verb,
          const std::string& resource, const std::string& ns, const std::string& subresource = "") {
  std::vector<std::string> args = {"auth", "can-i", verb, resource, "-n", ns, "--as", user};
  if (!subresource.empty()) args.push_back("--subresource=" + subresource);
  auto r = server.Kubectl(args);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && r->exit_code == 0 && r->out.find("yes") == 0;
}

struct Access {
  std::string verb, resource, ns, subresource;
  bool allowed;
};

void ExpectAccess(const KubeApiServer& server, const std::string& user,
                  const std::vector<Access>& table) {
  for (const Access& a : table) {
    EXPECT_EQ(CanI(server, user, a.verb, a.resource, a.ns, a.subresource), a.allowed)
        << user << " " << a.verb << " " << a.resource
        << (a.subresource.empty() ? "" : "/" + a.subresource) << " -n " << a.ns;
  }
}

// Installed for real, the chart's ServiceAccount may do what the manager does on the control
// plane (src/federation, src/runtime) and nothing else.
TEST_F(ServerDryRun, ChartRbacGrantsExactlyWhatTheManagerUses) {
  auto manifest = HelmTemplate("fed", "rbac", {});
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  std::string file = server_->dir().File("rbac.yaml");
  WriteFile(file, *manifest);
  auto applied = server_->Kubectl({"apply", "-f", file});
  ASSERT_TRUE(applied.ok() && applied->exit_code == 0) << (applied.ok() ? applied->err : "");
  const std::string sa = "system:serviceaccount:rbac:br-federation-manager";
  const std::string vb = "volumebackups.federation.pingcap.com";
  const std::string vr = "volumerestores.federation.pingcap.com";
  const std::string vbs = "volumebackupschedules.federation.pingcap.com";
  ExpectAccess(*server_, sa,
               {{"list", vb, "elsewhere", "", true},
                {"watch", vb, "elsewhere", "", true},
                {"patch", vb, "elsewhere", "", true},
                {"create", vb, "elsewhere", "", true},
                {"delete", vb, "elsewhere", "", true},
                {"patch", vb, "elsewhere", "status", true},
                {"list", vr, "elsewhere", "", true},
                {"patch", vr, "elsewhere", "status", true},
                {"watch", vbs, "elsewhere", "", true},
                {"patch", vbs, "elsewhere", "status", true},
                {"create", "events", "elsewhere", "", true},
                {"patch", "events", "elsewhere", "", true},
                {"get", "leases.coordination.k8s.io", "rbac", "", true},
                {"create", "leases.coordination.k8s.io", "rbac", "", true},
                {"update", "leases.coordination.k8s.io", "rbac", "", true},
                // Not used, so not granted.
                {"get", vb, "elsewhere", "", false},
                {"update", vb, "elsewhere", "", false},
                {"update", vb, "elsewhere", "status", false},
                {"create", vr, "elsewhere", "", false},
                {"delete", vr, "elsewhere", "", false},
                {"create", vbs, "elsewhere", "", false},
                {"delete", "events", "elsewhere", "", false},
                {"get", "leases.coordination.k8s.io", "elsewhere", "", false},
                {"delete", "leases.coordination.k8s.io", "rbac", "", false},
                {"get", "secrets", "rbac", "", false},
                {"list", "configmaps", "rbac", "", false},
                {"list", "pods", "rbac", "", false}});
}

// deploy/data-plane/rbac.yaml: list/watch members everywhere, write them only in the
// TidbCluster's namespace, nothing else.
TEST_F(ServerDryRun, DataPlaneRbacGrantsOnlyMemberAccess) {
  // A data plane serves TiDB Operator's CRDs (the sandbox's copies stand in for them).
  for (const char* crd : {"backups", "restores", "tidbclusters"}) {
    auto r = server_->Kubectl(
        {"apply", "--server-side", "-f",
         SourcePath(std::string("deploy/crds/test/pingcap.com_") + crd + ".yaml")});
    ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.status().ToString());
  }
  auto established = server_->Kubectl(
      {"wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"}, 90s);
  ASSERT_TRUE(established.ok() && established->exit_code == 0);
  auto applied = server_->Kubectl({"apply", "-f", SourcePath("deploy/data-plane/rbac.yaml")});
  ASSERT_TRUE(applied.ok() && applied->exit_code == 0) << (applied.ok() ? applied->err : "");
  const std::string sa = "system:serviceaccount:br-federation:br-federation-member";
  ExpectAccess(*server_, sa,
               {{"list", "backups.pingcap.com", "elsewhere", "", true},
                {"get", "backups.pingcap.com", "tidb-cluster", "", true},
                {"watch", "restores.pingcap.com", "elsewhere", "", true},
                {"create", "backups.pingcap.com", "tidb-cluster", "", true},
                {"patch", "restores.pingcap.com", "tidb-cluster", "", true},
                {"delete", "backups.pingcap.com", "tidb-cluster", "", true},
                {"create", "backups.pingcap.com", "elsewhere", "", false},
                {"delete", "restores.pingcap.com", "elsewhere", "", false},
                {"update", "backups.pingcap.com", "tidb-cluster", "", false},
                {"get", "tidbclusters.pingcap.com", "tidb-cluster", "", false},
                {"get", "secrets", "tidb-cluster", "", false},
                {"get", "secrets", "br-federation", "", false},
                {"create", "pods", "tidb-cluster", "", false}});
}

// Whether every field of `wanted` is in `actual` with the same value (the server adds defaults).
bool HasFields(const Json& actual, const Json& wanted) {
  if (!wanted.is_object()) return actual == wanted;
  if (!actual.is_object()) return false;
  for (const auto& [key, value] : wanted.items()) {
    if (!actual.contains(key) || !HasFields(actual[key], value)) return false;
  }
  return true;
}

// `-l` for the Pods of `deployment` (its selector).
std::string PodSelector(Json deployment) {
  std::string selector;
  for (const auto& [key, value] : deployment["spec"]["selector"]["matchLabels"].items()) {
    selector += (selector.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  }
  return selector;
}

// The items of `kubectl -n NS get KIND -l SELECTOR -o json` (empty on a failure).
Json ListJson(const KubeApiServer& server, const std::string& ns, const std::string& kind,
              const std::string& selector) {
  auto r = server.Kubectl({"-n", ns, "get", kind, "-l", selector, "-o", "json"});
  if (!r.ok() || r->exit_code != 0) return Json::array();
  return ParseJson(r->out).value_or(Json::object()).value("items", Json::array());
}

// The Deployment `rendered` (as helm or kustomize rendered it) got, from the Deployment and
// ReplicaSet controllers, one ReplicaSet and spec.replicas Pods, Pending (no scheduler, no
// kubelet), with the rendered ServiceAccount, hardened securityContext, probes and image; and
// docs/deploy.md's `kubectl -n NS get pods` lists them.
void ExpectPodsAsRendered(const KubeApiServer& server, const std::string& ns, Json rendered) {
  ASSERT_FALSE(JsonStringAt(rendered, {"metadata", "name"}).empty()) << DumpJson(rendered);
  const std::string selector = PodSelector(rendered);
  const auto replicas = static_cast<size_t>(JsonIntAt(rendered, {"spec", "replicas"}));
  Json pods;
  ASSERT_TRUE(WaitFor(
      [&] {
        pods = ListJson(server, ns, "pods", selector);
        return pods.size() == replicas;
      },
      60s))
      << "want " << replicas << " Pods, have " << DumpJson(pods);
  Json sets = ListJson(server, ns, "replicasets", selector);
  ASSERT_EQ(sets.size(), 1u) << DumpJson(sets);
  EXPECT_EQ(JsonStringAt(sets[0]["metadata"]["ownerReferences"][0], {"name"}),
            JsonStringAt(rendered, {"metadata", "name"}));
  Json& want_pod = rendered["spec"]["template"]["spec"];
  Json& want = want_pod["containers"][0];
  auto list = server.Kubectl({"-n", ns, "get", "pods"});
  ASSERT_TRUE(list.ok() && list->exit_code == 0) << (list.ok() ? list->err : "");
  for (Json& pod : pods) {
    const std::string name = JsonStringAt(pod, {"metadata", "name"});
    EXPECT_EQ(JsonStringAt(pod, {"status", "phase"}), "Pending") << name;
    EXPECT_EQ(JsonStringAt(pod["metadata"]["ownerReferences"][0], {"kind"}), "ReplicaSet");
    EXPECT_EQ(JsonStringAt(pod, {"spec", "serviceAccountName"}),
              JsonStringAt(want_pod, {"serviceAccountName"}));
    EXPECT_TRUE(HasFields(pod["spec"].value("securityContext", Json::object()),
                          want_pod.value("securityContext", Json::object())))
        << DumpJson(pod["spec"]);
    Json& got = pod["spec"]["containers"][0];
    EXPECT_EQ(got["image"], want["image"]);
    ASSERT_TRUE(want.contains("securityContext")) << DumpJson(want);
    EXPECT_EQ(got["securityContext"], want["securityContext"]) << name;
    for (const char* probe : {"readinessProbe", "livenessProbe"}) {
      ASSERT_TRUE(want.contains(probe)) << probe;
      EXPECT_TRUE(HasFields(got[probe], want[probe])) << probe << ": " << DumpJson(got[probe]);
    }
    EXPECT_NE(list->out.find(name), std::string::npos) << list->out;
  }
  EXPECT_NE(list->out.find("Pending"), std::string::npos) << list->out;
}

// The object "Kind/name" of a rendered stream.
Json RenderedObject(const Result<std::string>& rendered, const std::string& kind_name) {
  EXPECT_TRUE(rendered.ok()) << rendered.status().ToString();
  if (!rendered.ok()) return Json();
  auto objects = ObjectsByKindName(*rendered);
  EXPECT_TRUE(objects.ok()) << objects.status().ToString();
  if (!objects.ok() || !objects->contains(kind_name)) return Json();
  return (*objects)[kind_name];
}

// docs/deploy.md's install, upgrade and uninstall commands, run as written (context `control`
// is this server; the namespace br-federation was created by the suite with the page's
// `kubectl create namespace`): `helm install` and `helm upgrade --reuse-values` against the
// real kube-apiserver create and update the release's objects; the Deployment gets its
// ReplicaSet and Pods as rendered, which `kubectl get pods` lists (Pending: no kubelet runs
// here, so `--wait` is not used, nor by the page); the page's `create secret --dry-run=client
// | kubectl apply -f -` replaces the federation kubeconfig; `helm uninstall` removes the release.
TEST_F(ServerDryRun, HelmInstallUpgradeAndUninstallAsDocumented) {
  auto deployment_image = [] {
    auto r = server_->Kubectl({"-n", "br-federation", "get", "deployment", "br-federation-manager",
                               "-o", "jsonpath={.spec.template.spec.containers[0].image}"});
    return r.ok() && r->exit_code == 0 ? r->out : "(none)";
  };
  const std::string federation = server_->dir().File("federation.kubeconfig");
  WriteFile(federation, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  ExpectOk(server_->Kubectl({"-n", "br-federation", "create", "secret", "generic",
                             "br-federation-kubeconfig", "--from-file=kubeconfig=" + federation}),
           "create secret");
  const std::string chart = SourcePath("deploy/charts/br-federation");
  ExpectOk(Helm({"install", "br-federation", chart, "-n", "br-federation", "--set",
                 "image=registry.example/brfed/br-federation-manager:0.1.0"}),
           "helm install");
  EXPECT_EQ(deployment_image(), "registry.example/brfed/br-federation-manager:0.1.0");
  auto sa =
      server_->Kubectl({"-n", "br-federation", "get", "serviceaccount", "br-federation-manager"});
  ExpectOk(sa, "the chart's ServiceAccount");
  const Json rendered =
      RenderedObject(HelmTemplate("br-federation", "br-federation",
                                  {"image=registry.example/brfed/br-federation-manager:0.1.0"}),
                     "Deployment/br-federation-manager");
  ASSERT_NO_FATAL_FAILURE(ExpectPodsAsRendered(*server_, "br-federation", rendered));

  // A new federation kubeconfig, with the page's pipeline.
  const std::string kubectl = Tool("kubectl").value_or("kubectl-not-built");
  const std::string kc = server_->kubeconfig();
  const std::string joined = "apiVersion: v1\nkind: Config\ncontexts:\n- name: eks-3\n";
  WriteFile(federation, joined);
  CommandResult replaced = RunShell(
      kubectl + " --kubeconfig " + kc +
      " -n br-federation create secret generic br-federation-kubeconfig --from-file=kubeconfig=" +
      federation + " --dry-run=client -o yaml | " + kubectl + " --kubeconfig " + kc +
      " apply -f -");
  EXPECT_EQ(replaced.exit_code, 0) << replaced.out << replaced.err;
  auto secret = server_->Kubectl({"-n", "br-federation", "get", "secret",
                                  "br-federation-kubeconfig", "-o", "jsonpath={.data.kubeconfig}"});
  ExpectOk(secret, "the replaced Secret");
  EXPECT_EQ(kube::DecodeBase64(secret.ok() ? secret->out : "").value_or(""), joined);

  ExpectOk(server_->Kubectl({"apply", "--server-side", "-f", SourcePath("deploy/crds/")}),
           "kubectl apply --server-side -f deploy/crds/");
  ExpectOk(Helm({"upgrade", "br-federation", chart, "-n", "br-federation", "--reuse-values",
                 "--set", "image=registry.example/brfed/br-federation-manager:NEW"}),
           "helm upgrade");
  EXPECT_EQ(deployment_image(), "registry.example/brfed/br-federation-manager:NEW");
  // The rolling update surges one Pod of the new image (the old one stays: it is never Ready).
  Json pods;
  EXPECT_TRUE(WaitFor(
      [&] {
        pods = ListJson(*server_, "br-federation", "pods", PodSelector(rendered));
        for (Json& pod : pods) {
          if (JsonStringAt(pod["spec"]["containers"][0], {"image"}) ==
              "registry.example/brfed/br-federation-manager:NEW") {
            return true;
          }
        }
        return false;
      },
      60s))
      << DumpJson(pods);
  auto status = Helm({"status", "br-federation", "-n", "br-federation", "-o", "json"});
  ExpectOk(status, "helm status");
  if (status.ok()) {
    const Json release = ParseJson(status->out).value_or(Json());
    EXPECT_EQ(JsonIntAt(release, {"version"}), 2) << status->out;
    EXPECT_EQ(JsonStringAt(release, {"info", "status"}), "deployed") << status->out;
  }

  ExpectOk(Helm({"uninstall", "br-federation", "-n", "br-federation"}), "helm uninstall");
  ExpectOk(
      server_->Kubectl({"-n", "br-federation", "delete", "secret", "br-federation-kubeconfig"}),
      "delete secret");
  EXPECT_EQ(deployment_image(), "(none)");
  // Helm leaves the CRDs (and so the user's objects).
  ExpectOk(server_->Kubectl({"get", "crd", "volumebackups.federation.pingcap.com"}), "CRDs stay");
}

// docs/deploy.md's migration: a release of upstream's Go chart (../shared/upstream) moved to
// ours with `helm upgrade RELEASE deploy/charts/br-federation -f their-values.yaml --set image=`
// on the real kube-apiserver. The Deployment's selector is immutable, so this fails unless ours
// keeps upstream's names and selector.
TEST_F(ServerDryRun, HelmUpgradeFromTheGoChartRelease) {
  const std::string upstream =
      SourcePath("../shared/upstream/tidb-operator-release-1.6/charts/br-federation");
  ExpectOk(Helm({"install", "gofed", upstream, "-n", "elsewhere"}), "helm install (Go chart)");
  ExpectOk(Helm({"upgrade", "gofed", SourcePath("deploy/charts/br-federation"), "-n", "elsewhere",
                 "-f", upstream + "/values.yaml", "--set",
                 "image=registry.example/brfed/br-federation-manager:0.1.0"}),
           "helm upgrade to ours");
  auto image = server_->Kubectl({"-n", "elsewhere", "get", "deployment", "br-federation-manager",
                                 "-o", "jsonpath={.spec.template.spec.containers[0].image}"});
  ExpectOk(image, "the Deployment");
  if (image.ok()) {
    EXPECT_EQ(image->out, "registry.example/brfed/br-federation-manager:0.1.0");
  }
  ExpectOk(Helm({"uninstall", "gofed", "-n", "elsewhere"}), "helm uninstall");
}

// docs/deploy.md's install without Helm, `kubectl apply --server-side -k deploy/kustomize/base`
// (and .../namespaced), for real, each on a fresh kube-apiserver: the objects exist and the
// Deployment's Pods are as kustomize rendered them.
TEST(KustomizeApply, BaseAndNamespacedAppliedForReal) {
  for (const char* dir : {"deploy/kustomize/base", "deploy/kustomize/namespaced"}) {
    SCOPED_TRACE(dir);
    auto server = KubeApiServer::Start({"--workload-controllers"});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto applied = (*server)->Kubectl({"apply", "--server-side", "-k", SourcePath(dir)}, 120s);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    ASSERT_EQ(applied->exit_code, 0) << applied->out << applied->err;
    for (const char* object :
         {"serviceaccount/br-federation-manager", "deployment/br-federation-manager",
          "service/br-federation-manager-metrics", "poddisruptionbudget/br-federation-manager"}) {
      auto got = (*server)->Kubectl({"-n", "br-federation", "get", object});
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->exit_code, 0) << object << ": " << got->err;
    }
    auto rendered = RunTool("kubectl", {"kustomize", SourcePath(dir)});
    ASSERT_TRUE(rendered.ok() && rendered->exit_code == 0);
    ASSERT_NO_FATAL_FAILURE(
        ExpectPodsAsRendered(**server, "br-federation",
                             RenderedObject(rendered->out, "Deployment/br-federation-manager")));
  }
}

}  // namespace
}  // namespace brfed::testing
