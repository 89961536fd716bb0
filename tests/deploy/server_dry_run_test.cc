// What the chart and kustomize render passes validation by a real kube-apiserver
// (brfed-kube-testenv) with our CRDs installed: `kubectl apply --dry-run=server`.
#include <gtest/gtest.h>

#include "tests/deploy/deploy_util.h"

namespace brfed::testing {
namespace {

class ServerDryRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = KubeApiServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    for (const char* ns : {"br-fed", "br-federation"}) {
      auto r = server_->Kubectl({"create", "namespace", ns});
      ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.status().ToString());
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

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

}  // namespace
}  // namespace brfed::testing
