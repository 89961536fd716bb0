#include "tests/harness/federation_env.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "kube/kubeconfig_merge.h"

namespace brfed::testing {

namespace fs = std::filesystem;

std::string SimBinary() { return std::string(BRFED_BINARY_DIR) + "/src/sim/tidb-operator-sim"; }

std::string ManagerBinary() {
  return std::string(BRFED_BINARY_DIR) + "/src/manager/br-federation-manager";
}

bool ManagerProcess::Ready() const {
  HttpClient c("http://127.0.0.1:" + std::to_string(metrics_port));
  return c.Request("GET", "/readyz", "", "", "*/*", 2s).status == 200;
}

bool ManagerProcess::Leading() const {
  const std::string metrics = Metrics();
  for (size_t at = metrics.find("\nleader_election_master_status{"); at != std::string::npos;
       at = metrics.find("\nleader_election_master_status{", at + 1)) {
    const size_t end = metrics.find('\n', at + 1);
    const std::string line = metrics.substr(at + 1, end - at - 1);
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, " 1") == 0) return true;
  }
  return false;
}

std::string ManagerProcess::Metrics() const {
  HttpClient c("http://127.0.0.1:" + std::to_string(metrics_port));
  return c.Request("GET", "/metrics", "", "", "*/*", 5s).body;
}

FederationEnv::~FederationEnv() {
  sim_.reset();
  data_planes_.clear();
  control_plane_.reset();
  dir_.reset();
}

Result<std::unique_ptr<FederationEnv>> FederationEnv::Start(const FederationEnvOptions& options) {
  std::unique_ptr<FederationEnv> env(new FederationEnv());
  env->dir_ = std::make_unique<TempDir>();
  env->ns_ = options.ns;
  const Backend backend = TestBackend();

  ApiServerOptions cp;
  cp.dir = env->dir_->File("cp");
  cp.name = "control-plane";
  cp.backend = backend;
  for (const char* f :
       {"federation.pingcap.com_volumebackups.yaml", "federation.pingcap.com_volumerestores.yaml",
        "federation.pingcap.com_volumebackupschedules.yaml"}) {
    cp.extra_args.push_back("--crd");
    cp.extra_args.push_back(FederationCrd(f));
  }
  env->control_plane_audit_log_ = env->dir_->File("control-plane-audit.log");
  cp.extra_args.insert(cp.extra_args.end(), {"--audit-log", env->control_plane_audit_log_});
  fs::create_directories(cp.dir);
  BRFED_ASSIGN_OR_RETURN(ApiServer control, StartApiServer(cp));
  env->control_plane_ = std::make_unique<ApiServer>(std::move(control));
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", options.ns}}}};
  HttpResponse created =
      env->control_plane_->Client().Request("POST", "/api/v1/namespaces", DumpJson(ns));
  if (created.status != 201 && created.status != 409) {
    return Status(Code::kUnavailable, "cannot create namespace " + options.ns + ": " +
                                          std::to_string(created.status) + " " + created.body +
                                          created.error);
  }

  for (const std::string& name : options.data_planes) {
    ApiServerOptions o;
    o.dir = env->dir_->File(name);
    o.name = name;
    o.backend = backend;
    o.extra_args = DataPlaneCrdArgs(backend);
    fs::create_directories(o.dir);
    BRFED_ASSIGN_OR_RETURN(ApiServer dp, StartApiServer(o));
    env->data_planes_[name] = std::make_unique<ApiServer>(std::move(dp));
  }

  ProcessOptions sim;
  sim.binary = SimBinary();
  for (const auto& [name, server] : env->data_planes_) {
    sim.args.push_back("--cluster");
    sim.args.push_back(name + "=" + server->kubeconfig);
  }
  env->audit_log_ = env->dir_->File("audit.log");
  sim.args.insert(sim.args.end(), options.sim_args.begin(), options.sim_args.end());
  sim.args.insert(sim.args.end(), {"--audit-log", env->audit_log_, "--admin-addr", "127.0.0.1:0"});
  sim.stdout_path = env->dir_->File("sim.out");
  sim.stderr_path = env->dir_->File("sim.err");
  BRFED_ASSIGN_OR_RETURN(env->sim_, Process::Start(sim));
  const std::string sim_out = sim.stdout_path;
  Process* sim_process = env->sim_.get();
  if (!WaitFor([&] {
        return ReadFile(sim_out).find("admin-port ") != std::string::npos ||
               !sim_process->Running();
      }) ||
      !sim_process->Running()) {
    return Status(Code::kUnavailable,
                  "tidb-operator-sim did not start; stderr: " + ReadFile(sim.stderr_path));
  }
  std::string out = ReadFile(sim_out);
  env->sim_admin_ = std::make_unique<HttpClient>(
      "http://127.0.0.1:" + std::to_string(std::atoi(out.c_str() + out.find("admin-port ") + 11)));

  env->federation_kubeconfig_ = env->dir_->File("federation-kubeconfig");
  BRFED_RETURN_IF_ERROR(env->WriteFederationKubeconfig(
      options.federation_contexts.empty() ? options.data_planes : options.federation_contexts));
  return env;
}

Status FederationEnv::WriteFederationKubeconfig(const std::vector<std::string>& names) {
  std::vector<std::string> kubeconfigs;
  for (const auto& name : names) {
    auto it = data_planes_.find(name);
    if (it == data_planes_.end()) return InvalidArgument("no data plane named " + name);
    kubeconfigs.push_back(ReadFile(it->second->kubeconfig));
  }
  BRFED_ASSIGN_OR_RETURN(Json merged, kube::MergeKubeconfigs(kubeconfigs));
  std::ofstream(federation_kubeconfig_ + ".tmp") << DumpJson(merged);
  std::error_code ec;
  fs::rename(federation_kubeconfig_ + ".tmp", federation_kubeconfig_, ec);
  if (ec) return InternalError("rename " + federation_kubeconfig_ + ": " + ec.message());
  return Status();
}

Result<std::unique_ptr<ManagerProcess>> FederationEnv::StartManager(
    const std::string& tag, const std::vector<std::string>& extra,
    const std::vector<std::pair<std::string, std::string>>& env) {
  auto m = std::make_unique<ManagerProcess>();
  ProcessOptions o;
  o.binary = ManagerBinary();
  o.args = {"--kubeconfig",
            control_plane_->kubeconfig,
            "--federation-kubeconfig-path",
            federation_kubeconfig_,
            "--metrics-addr",
            "127.0.0.1:0",
            "--federation-kubeconfig-poll-interval",
            "200ms",
            "--namespace",
            ns_};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  o.env = env;
  m->log = dir_->File(tag + ".log");
  o.stderr_path = m->log;
  o.stdout_path = dir_->File(tag + ".out");
  BRFED_ASSIGN_OR_RETURN(m->process, Process::Start(o));
  ManagerProcess* raw = m.get();
  bool serving = WaitFor([raw] {
    std::string log = ReadFile(raw->log);
    auto at = log.find("serving metrics");
    if (at == std::string::npos) return !raw->process->Running();
    auto port = log.find("port=", at);
    if (port == std::string::npos) return false;
    raw->metrics_port = std::atoi(log.c_str() + port + 5);
    return raw->metrics_port > 0;
  });
  if (!serving || raw->metrics_port <= 0) {
    return Status(Code::kUnavailable, "br-federation-manager " + tag +
                                          " did not serve metrics; log: " + ReadFile(m->log));
  }
  return m;
}

CommandResult FederationEnv::CheckAuditLog() const {
  ProcessOptions o;
  o.binary = SimBinary();
  o.args = {"check", "--audit-log", audit_log_};
  return RunCommand(o, 60s);
}

}  // namespace brfed::testing
