#include "tests/deploy/deploy_util.h"

#include <unistd.h>

#include <fstream>

namespace brfed::testing {

std::string SourcePath(const std::string& relative) {
  return std::string(BRFED_SOURCE_DIR) + "/" + relative;
}

Result<std::string> Tool(const std::string& name) {
  std::string path = SourcePath("build/tools/bin/" + name);
  if (access(path.c_str(), X_OK) != 0) {
    return Status(Code::kNotFound,
                  path + " is missing: run scripts/install-deps.sh (it builds the pinned " + name +
                      " from the Go module proxy)");
  }
  return path;
}

Result<CommandResult> RunTool(const std::string& name, const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout) {
  BRFED_ASSIGN_OR_RETURN(std::string path, Tool(name));
  ProcessOptions o;
  o.binary = path;
  o.args = args;
  // helm keeps caches and config under $HOME; point them at a throwaway place.
  o.env = {{"HELM_CACHE_HOME", "/tmp/brfed-helm-cache"},
           {"HELM_CONFIG_HOME", "/tmp/brfed-helm-config"},
           {"HELM_DATA_HOME", "/tmp/brfed-helm-data"}};
  return RunCommand(o, timeout);
}

Result<std::string> HelmTemplateChart(const std::string& chart_dir, const std::string& release,
                                      const std::string& ns, const std::vector<std::string>& sets,
                                      const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"template", release, chart_dir, "--namespace", ns};
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  BRFED_ASSIGN_OR_RETURN(CommandResult r, RunTool("helm", args));
  if (r.exit_code != 0) {
    return Status(Code::kInvalidArgument,
                  "helm template exited " + std::to_string(r.exit_code) + ": " + r.err);
  }
  return r.out;
}

Result<std::string> HelmTemplate(const std::string& release, const std::string& ns,
                                 const std::vector<std::string>& sets,
                                 const std::vector<std::string>& extra) {
  return HelmTemplateChart(SourcePath("deploy/charts/br-federation"), release, ns, sets, extra);
}

Result<std::map<std::string, Json>> ObjectsByKindName(const std::string& yaml) {
  BRFED_ASSIGN_OR_RETURN(std::vector<Json> docs, ParseYamlDocuments(yaml));
  std::map<std::string, Json> out;
  for (Json& doc : docs) {
    if (!doc.is_object()) continue;
    std::string key = JsonStringAt(doc, {"kind"}) + "/" + JsonStringAt(doc, {"metadata", "name"});
    if (out.count(key) != 0) return Status(Code::kAlreadyExists, "duplicate object " + key);
    out[key] = std::move(doc);
  }
  return out;
}

CommandResult RunShell(const std::string& line) {
  ProcessOptions sh;
  sh.binary = "/bin/sh";
  sh.args = {"-c", line};
  return RunCommand(sh);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

Result<std::unique_ptr<KubeApiServer>> KubeApiServer::Start(
    const std::vector<std::string>& extra_args) {
  std::unique_ptr<KubeApiServer> s(new KubeApiServer());
  ProcessOptions o;
  BRFED_ASSIGN_OR_RETURN(o.binary, Tool("brfed-kube-testenv"));
  s->kubeconfig_ = s->dir_.File("admin.kubeconfig");
  o.args = {"--listen", "127.0.0.1:0", "--kubeconfig-out", s->kubeconfig_,      "--tls",
            "--token",  "admin-token", "--data-dir",       s->dir_.File("data")};
  o.args.insert(o.args.end(), extra_args.begin(), extra_args.end());
  o.stdout_path = s->dir_.File("testenv.out");
  o.stderr_path = s->dir_.File("testenv.err");
  BRFED_ASSIGN_OR_RETURN(s->process_, Process::Start(o));
  Process* p = s->process_.get();
  // etcd and kube-apiserver start in-process; give them time on a loaded machine.
  bool ready = WaitFor(
      [&] { return ReadFile(o.stdout_path).find("ready ") != std::string::npos || !p->Running(); },
      120s);
  const std::string out = ReadFile(o.stdout_path);
  auto at = out.find("ready ");
  if (!ready || at == std::string::npos) {
    return Status(Code::kUnavailable,
                  "brfed-kube-testenv did not become ready; stderr: " + ReadFile(o.stderr_path));
  }
  s->url_ = out.substr(at + 6, out.find('\n', at) - at - 6);

  // Our CRDs, as a user installs them (deploy/crds/test/ is the sandbox's, not applied).
  std::vector<std::string> apply = {"apply", "--server-side"};
  for (const char* crd : {"volumebackups", "volumerestores", "volumebackupschedules"}) {
    apply.push_back("-f");
    apply.push_back(SourcePath(std::string("deploy/crds/federation.pingcap.com_") + crd + ".yaml"));
  }
  BRFED_ASSIGN_OR_RETURN(CommandResult applied, s->Kubectl(apply));
  if (applied.exit_code != 0) return InternalError("applying deploy/crds: " + applied.err);
  BRFED_ASSIGN_OR_RETURN(
      CommandResult established,
      s->Kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"}, 90s));
  if (established.exit_code != 0) {
    return InternalError("CRDs not established: " + established.err);
  }
  return s;
}

Result<CommandResult> KubeApiServer::Kubectl(const std::vector<std::string>& args,
                                             std::chrono::milliseconds timeout) const {
  std::vector<std::string> full = {"--kubeconfig", kubeconfig_};
  full.insert(full.end(), args.begin(), args.end());
  return RunTool("kubectl", full, timeout);
}

Result<std::string> InstallChartAndGetManagerKubeconfig(const KubeApiServer& server,
                                                        const std::string& release,
                                                        const std::string& ns,
                                                        const std::vector<std::string>& sets) {
  BRFED_ASSIGN_OR_RETURN(CommandResult created, server.Kubectl({"create", "namespace", ns}));
  if (created.exit_code != 0) return InternalError("create namespace " + ns + ": " + created.err);
  BRFED_ASSIGN_OR_RETURN(std::string manifest, HelmTemplate(release, ns, sets));
  const std::string file = server.dir().File(release + "-chart.yaml");
  WriteFile(file, manifest);
  BRFED_ASSIGN_OR_RETURN(CommandResult applied, server.Kubectl({"apply", "-f", file}));
  if (applied.exit_code != 0) return InternalError("apply the chart: " + applied.err);
  BRFED_ASSIGN_OR_RETURN(
      CommandResult token,
      server.Kubectl({"create", "token", "br-federation-manager", "-n", ns, "--duration", "1h"}));
  if (token.exit_code != 0) return InternalError("create token: " + token.err);
  while (!token.out.empty() && std::isspace(static_cast<unsigned char>(token.out.back()))) {
    token.out.pop_back();
  }
  BRFED_ASSIGN_OR_RETURN(Json config, ParseYaml(ReadFile(server.kubeconfig())));
  if (!config.contains("users") || config["users"].empty()) {
    return InvalidArgument("admin kubeconfig has no user");
  }
  for (Json& u : config["users"]) u["user"] = {{"token", token.out}};
  return DumpJson(config);
}

}  // namespace brfed::testing
