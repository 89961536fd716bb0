// Helpers for the deploy/ suites: the pinned tools (helm, kubectl, promtool, the
// brfed-kube-testenv kube-apiserver) that scripts/install-deps.sh builds into build/tools/bin,
// rendering the chart, reading YAML streams, and a running kube-apiserver with our CRDs.
//
// Thread-safety: none; one test thread uses them. KubeApiServer owns its process and directory.
#ifndef BRFED_TESTS_DEPLOY_DEPLOY_UTIL_H_
#define BRFED_TESTS_DEPLOY_DEPLOY_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/status.h"
#include "tests/harness/harness.h"

namespace brfed::testing {

// <source>/<relative>.
std::string SourcePath(const std::string& relative);

// <source>/build/tools/bin/<name>, or an error telling to run scripts/install-deps.sh.
Result<std::string> Tool(const std::string& name);

// Runs a pinned tool (60 s limit by default).
Result<CommandResult> RunTool(const std::string& name, const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout = 60s);

// `helm template RELEASE CHART_DIR --namespace NS --set K=V ...`: the rendered stream, or the
// error with helm's stderr.
Result<std::string> HelmTemplateChart(const std::string& chart_dir, const std::string& release,
                                      const std::string& ns, const std::vector<std::string>& sets,
                                      const std::vector<std::string>& extra = {});
// HelmTemplateChart of our chart, deploy/charts/br-federation.
Result<std::string> HelmTemplate(const std::string& release, const std::string& ns,
                                 const std::vector<std::string>& sets,
                                 const std::vector<std::string>& extra = {});

// The documents of a YAML stream, keyed "Kind/name".
Result<std::map<std::string, Json>> ObjectsByKindName(const std::string& yaml);

// Runs `line` with /bin/sh -c (docs/deploy.md's pipelines), 60 s limit.
CommandResult RunShell(const std::string& line);

// Writes `text` to `path`.
void WriteFile(const std::string& path, const std::string& text);

// A real kube-apiserver (brfed-kube-testenv, TLS + token) with the federation CRDs of
// deploy/crds applied through kubectl and established.
class KubeApiServer {
 public:
  static Result<std::unique_ptr<KubeApiServer>> Start(
      const std::vector<std::string>& extra_args = {});
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& url() const { return url_; }
  const TempDir& dir() const { return dir_; }
  // kubectl --kubeconfig <ours> ARGS.
  Result<CommandResult> Kubectl(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout = 60s) const;

 private:
  KubeApiServer() = default;
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::string kubeconfig_;
  std::string url_;
};

// Installs the chart (release `release`, default values plus `sets`) into namespace `ns` of
// `server` (created here) and returns a kubeconfig text for the chart's ServiceAccount: the
// server's CA and a token the kube-apiserver issued for the account (TokenRequest), which is
// what a Pod of the chart's Deployment gets mounted.
Result<std::string> InstallChartAndGetManagerKubeconfig(const KubeApiServer& server,
                                                        const std::string& release,
                                                        const std::string& ns,
                                                        const std::vector<std::string>& sets = {});

}  // namespace brfed::testing

#endif  // BRFED_TESTS_DEPLOY_DEPLOY_UTIL_H_
