// The Helm chart and the kustomize tree, offline: helm lint, helm template in upstream's
// variants, upstream's values.yaml keys and defaults, the CRD copies, and kustomize rendering
// the same objects as the chart.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/deploy/deploy_util.h"

namespace brfed::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kUpstreamValues[] =
    "../shared/upstream/tidb-operator-release-1.6/charts/br-federation/values.yaml";

std::map<std::string, Json> Render(const std::vector<std::string>& sets,
                                   const std::string& release = "fed",
                                   const std::string& ns = "br-fed") {
  auto out = HelmTemplate(release, ns, sets);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  auto objects = ObjectsByKindName(*out);
  EXPECT_TRUE(objects.ok()) << objects.status().ToString();
  return objects.ok() ? *objects : std::map<std::string, Json>{};
}

std::vector<std::string> Keys(const std::map<std::string, Json>& objects) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : objects) keys.push_back(k);
  return keys;
}

const Json& ManagerContainer(const Json& deployment) {
  return deployment["spec"]["template"]["spec"]["containers"][0];
}

bool HasArg(const Json& container, const std::string& arg) {
  const Json& cmd = container["command"];
  return std::find(cmd.begin(), cmd.end(), Json(arg)) != cmd.end();
}

TEST(Chart, LintIsClean) {
  auto r = RunTool("helm", {"lint", "--strict", SourcePath("deploy/charts/br-federation")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_NE(r->out.find("0 chart(s) failed"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("[WARNING]"), std::string::npos) << r->out;
}

TEST(Chart, DefaultRenderIsClusterScopedAndHardened) {
  auto objects = Render({});
  ASSERT_FALSE(objects.empty());
  EXPECT_EQ(
      Keys(objects),
      (std::vector<std::string>{
          "ClusterRole/fed:br-federation-manager", "ClusterRoleBinding/fed:br-federation-manager",
          "Deployment/br-federation-manager", "PodDisruptionBudget/br-federation-manager",
          "Role/fed:br-federation-manager-leader-election",
          "RoleBinding/fed:br-federation-manager-leader-election",
          "Service/br-federation-manager-metrics", "ServiceAccount/br-federation-manager"}));
  const Json& d = objects["Deployment/br-federation-manager"];
  const Json& c = ManagerContainer(d);
  EXPECT_TRUE(HasArg(c, "-v=2"));
  EXPECT_TRUE(HasArg(c, "--cluster-scoped=true"));
  EXPECT_TRUE(HasArg(
      c, "--federation-kubeconfig-path=/etc/br-federation/federation-kubeconfig/kubeconfig"));
  EXPECT_EQ(c["securityContext"]["runAsUser"], 65532);
  EXPECT_EQ(c["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(c["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(c["securityContext"]["capabilities"]["drop"], Json::array({"ALL"}));
  EXPECT_EQ(c["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/healthz");
  // A standby is Ready (readiness is independent of leadership), so a surge Pod can roll in
  // without taking the leader down first.
  EXPECT_EQ(d["spec"]["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
  EXPECT_EQ(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "80m");
  EXPECT_EQ(d["spec"]["template"]["spec"]["serviceAccountName"], "br-federation-manager");
  EXPECT_EQ(d["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
            "br-federation-kubeconfig");
  // The selector is upstream's, so `helm upgrade` from the Go chart keeps the Deployment.
  EXPECT_EQ(d["spec"]["selector"]["matchLabels"],
            (Json{{"app.kubernetes.io/name", "br-federation"},
                  {"app.kubernetes.io/instance", "fed"},
                  {"app.kubernetes.io/component", "br-federation-manager"}}));
  // No Secrets, ConfigMaps or wildcards anywhere in the RBAC.
  for (const char* role : {"ClusterRole/fed:br-federation-manager",
                           "Role/fed:br-federation-manager-leader-election"}) {
    for (const Json& rule : objects[role]["rules"]) {
      for (const Json& r : rule["resources"]) {
        EXPECT_NE(r, "secrets") << role;
        EXPECT_NE(r, "configmaps") << role;
        EXPECT_NE(r, "*") << role;
      }
      for (const Json& v : rule["verbs"]) EXPECT_NE(v, "*") << role;
    }
  }
}

TEST(Chart, NamespacedRenderUsesRoles) {
  auto objects = Render({"clusterScoped=false"});
  ASSERT_FALSE(objects.empty());
  EXPECT_EQ(objects.count("ClusterRole/fed:br-federation-manager"), 0u);
  EXPECT_EQ(objects.count("ClusterRoleBinding/fed:br-federation-manager"), 0u);
  ASSERT_EQ(objects.count("Role/fed:br-federation-manager"), 1u);
  EXPECT_EQ(objects["Role/fed:br-federation-manager"]["metadata"]["namespace"], "br-fed");
  EXPECT_EQ(objects["RoleBinding/fed:br-federation-manager"]["roleRef"]["kind"], "Role");
  EXPECT_TRUE(HasArg(ManagerContainer(objects["Deployment/br-federation-manager"]),
                     "--cluster-scoped=false"));
}

TEST(Chart, ReleaseSuffixRenamesAndSetsHelmRelease) {
  auto objects = Render({"appendReleaseSuffix=true"}, "east");
  ASSERT_EQ(objects.count("Deployment/br-federation-manager-east"), 1u) << Keys(objects).size();
  EXPECT_EQ(objects.count("ServiceAccount/br-federation-manager-east"), 1u);
  const Json& d = objects["Deployment/br-federation-manager-east"];
  EXPECT_EQ(d["spec"]["template"]["spec"]["serviceAccountName"], "br-federation-manager-east");
  bool helm_release = false;
  for (const Json& e : ManagerContainer(d)["env"]) {
    if (e["name"] == "HELM_RELEASE") helm_release = e["value"] == "east";
  }
  EXPECT_TRUE(helm_release);
  EXPECT_EQ(objects["ClusterRoleBinding/east:br-federation-manager"]["subjects"][0]["name"],
            "br-federation-manager-east");
}

TEST(Chart, UpstreamOptionalKeysRender) {
  auto objects = Render({"brFederationManager.workers=7",
                         "brFederationManager.leaderLeaseDuration=30s",
                         "brFederationManager.leaderRenewDeadline=20s",
                         "brFederationManager.leaderRetryPeriod=4s",
                         "brFederationManager.leaderResourceLock=leases",
                         "brFederationManager.kubeClientQPS=20",
                         "brFederationManager.kubeClientBurst=40",
                         "brFederationManager.priorityClassName=system-cluster-critical",
                         "brFederationManager.logLevel=4",
                         "brFederationManager.replicas=2",
                         "brFederationManager.federationKubeconfigSecret=fedcfg",
                         "brFederationManager.federationKubeconfigSecretKey=merged",
                         "brFederationManager.securityContext.fsGroup=2000",
                         "brFederationManager.podAnnotations.team=db",
                         "brFederationManager.nodeSelector.pool=system",
                         "brFederationManager.env[0].name=AWS_REGION",
                         "brFederationManager.env[0].value=us-west-2",
                         "imagePullSecrets[0].name=regcred",
                         "timezone=Asia/Shanghai",
                         "image=registry.example/brfed:1"});
  const Json& d = objects["Deployment/br-federation-manager"];
  const Json& spec = d["spec"]["template"]["spec"];
  const Json& c = ManagerContainer(d);
  for (const char* arg :
       {"--workers=7", "--leader-lease-duration=30s", "--leader-renew-deadline=20s",
        "--leader-retry-period=4s", "--kube-client-qps=20", "--kube-client-burst=40", "-v=4",
        "--federation-kubeconfig-path=/etc/br-federation/federation-kubeconfig/merged"}) {
    EXPECT_TRUE(HasArg(c, arg)) << arg;
  }
  EXPECT_EQ(d["spec"]["replicas"], 2);
  EXPECT_EQ(spec["priorityClassName"], "system-cluster-critical");
  EXPECT_EQ(spec["securityContext"]["fsGroup"], 2000);
  EXPECT_EQ(spec["nodeSelector"]["pool"], "system");
  EXPECT_EQ(spec["imagePullSecrets"][0]["name"], "regcred");
  EXPECT_EQ(spec["volumes"][0]["secret"]["secretName"], "fedcfg");
  EXPECT_EQ(d["spec"]["template"]["metadata"]["annotations"]["team"], "db");
  EXPECT_EQ(c["image"], "registry.example/brfed:1");
  std::map<std::string, std::string> env;
  for (const Json& e : c["env"]) env[e["name"]] = e.value("value", "");
  EXPECT_EQ(env["TZ"], "Asia/Shanghai");
  EXPECT_EQ(env["AWS_REGION"], "us-west-2");
}

TEST(Chart, CreateFalseAndRbacFalseRenderLess) {
  EXPECT_TRUE(Render({"brFederationManager.create=false"}).empty());
  auto objects = Render({"rbac.create=false"});
  EXPECT_EQ(objects.count("ServiceAccount/br-federation-manager"), 0u);
  EXPECT_EQ(objects.count("ClusterRole/fed:br-federation-manager"), 0u);
  EXPECT_EQ(objects.count("Deployment/br-federation-manager"), 1u);
}

TEST(Chart, UnsupportedLeaderLockFailsWithAMessage) {
  auto out = HelmTemplate("fed", "br-fed", {"brFederationManager.leaderResourceLock=endpoints"});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("leaderResourceLock: \"endpoints\" is not supported"),
            std::string::npos)
      << out.status().ToString();
}

TEST(Chart, ServiceMonitorRendersWhenAsked) {
  auto objects = Render({"brFederationManager.serviceMonitor.create=true"});
  ASSERT_EQ(objects.count("ServiceMonitor/br-federation-manager"), 1u);
  EXPECT_EQ(objects["ServiceMonitor/br-federation-manager"]["spec"]["endpoints"][0]["port"],
            "metrics");
  auto out = HelmTemplate("fed", "br-fed",
                          {"brFederationManager.serviceMonitor.create=true",
                           "brFederationManager.metricsService.create=false"});
  EXPECT_FALSE(out.ok());
}

// Every leaf of upstream's values.yaml is in ours with the same default; only image differs.
void CompareDefaults(const Json& upstream, const Json& ours, const std::string& path,
                     std::vector<std::string>* problems) {
  for (auto it = upstream.begin(); it != upstream.end(); ++it) {
    const std::string key = path.empty() ? it.key() : path + "." + it.key();
    if (key == "image") continue;
    if (!ours.is_object() || !ours.contains(it.key())) {
      problems->push_back(key + " is missing");
      continue;
    }
    const Json& mine = ours[it.key()];
    if (it.value().is_object() && !it.value().empty()) {
      CompareDefaults(it.value(), mine, key, problems);
    } else if (mine != it.value()) {
      problems->push_back(key + ": upstream " + it.value().dump() + ", ours " + mine.dump());
    }
  }
}

TEST(Chart, EveryUpstreamValueKeepsItsNameAndDefault) {
  std::string upstream_text = ReadFile(SourcePath(kUpstreamValues));
  ASSERT_FALSE(upstream_text.empty()) << "cannot read " << SourcePath(kUpstreamValues);
  auto upstream = ParseYaml(upstream_text);
  auto ours = ParseYaml(ReadFile(SourcePath("deploy/charts/br-federation/values.yaml")));
  ASSERT_TRUE(upstream.ok() && ours.ok());
  std::vector<std::string> problems;
  CompareDefaults(*upstream, *ours, "", &problems);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  // The keys upstream only documents in comments are rendered too (Chart.UpstreamOptionalKeys).
  EXPECT_GT(upstream->size(), 5u);
}

// deploy/crds is the source; the chart's crds/ and kustomize's base/crds/ are byte-for-byte
// copies (helm and kustomize both refuse files outside their directories).
TEST(Chart, CrdCopiesMatchDeployCrds) {
  std::vector<std::string> sources;
  for (const auto& e : fs::directory_iterator(SourcePath("deploy/crds"))) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") {
      sources.push_back(e.path().filename());
    }
  }
  std::sort(sources.begin(), sources.end());
  ASSERT_EQ(sources.size(), 3u);
  for (const char* copy_dir : {"deploy/charts/br-federation/crds", "deploy/kustomize/base/crds"}) {
    std::vector<std::string> copies;
    for (const auto& e : fs::directory_iterator(SourcePath(copy_dir))) {
      copies.push_back(e.path().filename());
    }
    std::sort(copies.begin(), copies.end());
    EXPECT_EQ(copies, sources) << copy_dir;
    for (const auto& name : sources) {
      EXPECT_EQ(ReadFile(SourcePath(std::string(copy_dir) + "/" + name)),
                ReadFile(SourcePath("deploy/crds/" + name)))
          << copy_dir << "/" << name << " differs from deploy/crds/" << name
          << ": copy it over again";
    }
  }
}

// Labels only Helm sets; everything else must be the same object.
void DropHelmLabels(Json* object) {
  for (Json* labels : {&(*object)["metadata"]["labels"]}) {
    for (const char* l :
         {"app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"}) {
      labels->erase(l);
    }
  }
}

TEST(Kustomize, BaseHasTheChartsObjects) {
  auto rendered = RunTool("kubectl", {"kustomize", SourcePath("deploy/kustomize/base")});
  ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
  ASSERT_EQ(rendered->exit_code, 0) << rendered->err;
  auto kustomized = ObjectsByKindName(rendered->out);
  ASSERT_TRUE(kustomized.ok()) << kustomized.status().ToString();
  auto chart = Render({}, "br-federation", "br-federation");
  ASSERT_FALSE(chart.empty());
  for (auto& [key, object] : chart) {
    DropHelmLabels(&object);
    ASSERT_EQ(kustomized->count(key), 1u) << key << " is not in deploy/kustomize/base";
    EXPECT_EQ((*kustomized)[key], object) << key << " differs between chart and kustomize";
  }
  // Besides the chart's objects: the Namespace and the three CRDs.
  EXPECT_EQ(kustomized->size(), chart.size() + 4);
  EXPECT_EQ(kustomized->count("Namespace/br-federation"), 1u);
}

TEST(Kustomize, NamespacedOverlayHasTheNamespacedChartsRbac) {
  auto rendered = RunTool("kubectl", {"kustomize", SourcePath("deploy/kustomize/namespaced")});
  ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
  ASSERT_EQ(rendered->exit_code, 0) << rendered->err;
  auto kustomized = ObjectsByKindName(rendered->out);
  ASSERT_TRUE(kustomized.ok()) << kustomized.status().ToString();
  auto chart = Render({"clusterScoped=false"}, "br-federation", "br-federation");
  ASSERT_FALSE(chart.empty());
  for (auto& [key, object] : chart) {
    DropHelmLabels(&object);
    ASSERT_EQ(kustomized->count(key), 1u) << key << " is not in deploy/kustomize/namespaced";
    EXPECT_EQ((*kustomized)[key], object) << key << " differs between chart and kustomize";
  }
  EXPECT_EQ(kustomized->count("ClusterRole/br-federation:br-federation-manager"), 0u);
}

}  // namespace
}  // namespace brfed::testing
