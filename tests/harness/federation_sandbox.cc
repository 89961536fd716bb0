#include "tests/harness/federation_sandbox.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kube/kubeconfig.h"
#include "kube/resource.h"

namespace brfed::testing {
namespace {

namespace fs = std::filesystem;

const std::string kBin = BRFED_BINARY_DIR;
const std::string kSrc = BRFED_SOURCE_DIR;

}  // namespace

Result<std::shared_ptr<kube::Client>> KubeClientFor(const std::string& kubeconfig) {
  BRFED_ASSIGN_OR_RETURN(kube::Kubeconfig config, kube::Kubeconfig::LoadFile(kubeconfig));
  BRFED_ASSIGN_OR_RETURN(kube::RestConfig rest, config.ForContext(""));
  return kube::NewClient(rest);
}

const Json* TrueCondition(const Json& obj, const std::string& type) {
  const Json* conditions = JsonAt(obj, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const auto& c : *conditions) {
    if (JsonStringAt(c, {"type"}) == type && JsonStringAt(c, {"status"}) == "True") return &c;
  }
  return nullptr;
}

FederationSandbox::FederationSandbox(FederationSandboxOptions options)
    : options_(std::move(options)) {}

FederationSandbox::~FederationSandbox() {
  sim_.reset();
  data_planes_.clear();
  control_plane_.reset();
  dp_clients_.clear();
  cp_client_.reset();
  dir_.reset();
}

Result<std::unique_ptr<FederationSandbox>> FederationSandbox::Start(
    FederationSandboxOptions options) {
  std::unique_ptr<FederationSandbox> sandbox(new FederationSandbox(std::move(options)));
  BRFED_RETURN_IF_ERROR(sandbox->StartAll());
  return sandbox;
}

Status FederationSandbox::StartAll() {
  dir_ = std::make_unique<TempDir>();
  ApiServerOptions cp;
  cp.dir = dir_->File("cp");
  cp.name = "control-plane";
  for (const char* f :
       {"federation.pingcap.com_volumebackups.yaml", "federation.pingcap.com_volumerestores.yaml",
        "federation.pingcap.com_volumebackupschedules.yaml"}) {
    cp.extra_args.push_back("--crd");
    cp.extra_args.push_back(kSrc + "/deploy/crds/" + f);
  }
  fs::create_directories(cp.dir);
  BRFED_ASSIGN_OR_RETURN(ApiServer started, StartApiServer(cp));
  control_plane_ = std::make_unique<ApiServer>(std::move(started));
  BRFED_ASSIGN_OR_RETURN(cp_client_, KubeClientFor(control_plane_->kubeconfig));
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", options_.ns}}}};
  auto created = cp_client_->Create(kube::resources::Namespace(), "", ns);
  if (!created.ok() && created.status().code() != Code::kAlreadyExists) {
    return created.status().Annotate("create namespace " + options_.ns);
  }

  for (const std::string& name : options_.clusters) {
    ApiServerOptions o;
    o.dir = dir_->File(name);
    o.name = name;
    o.extra_args = {"--crd", kSrc + "/deploy/crds/test"};
    fs::create_directories(o.dir);
    BRFED_ASSIGN_OR_RETURN(ApiServer dp, StartApiServer(o));
    data_planes_[name] = std::make_unique<ApiServer>(std::move(dp));
    BRFED_ASSIGN_OR_RETURN(dp_clients_[name], KubeClientFor(data_planes_[name]->kubeconfig));
  }

  ProcessOptions sim;
  sim.binary = kBin + "/src/sim/tidb-operator-sim";
  for (const auto& [name, server] : data_planes_) {
    sim.args.push_back("--cluster");
    sim.args.push_back(name + "=" + server->kubeconfig);
  }
  audit_log_ = dir_->File("audit.log");
  sim.args.insert(sim.args.end(), options_.sim_args.begin(), options_.sim_args.end());
  sim.args.insert(sim.args.end(), {"--audit-log", audit_log_, "--admin-addr", "127.0.0.1:0"});
  sim.stdout_path = dir_->File("sim.out");
  sim.stderr_path = dir_->File("sim.err");
  BRFED_ASSIGN_OR_RETURN(sim_, Process::Start(sim));
  const std::string sim_out = sim.stdout_path;
  if (!WaitFor([&] { return ReadFile(sim_out).find("admin-port ") != std::string::npos; })) {
    return UnavailableError("tidb-operator-sim did not report its admin port: " +
                            ReadFile(sim.stderr_path));
  }
  const std::string out = ReadFile(sim_out);
  sim_admin_ = std::make_unique<HttpClient>(
      "http://127.0.0.1:" + std::to_string(std::atoi(out.c_str() + out.find("admin-port ") + 11)));

  federation_kubeconfig_ = dir_->File("federation-kubeconfig");
  return WriteFederationKubeconfig(
      options_.kubeconfig_clusters.empty() ? options_.clusters : options_.kubeconfig_clusters);
}

Status FederationSandbox::WriteFederationKubeconfig(const std::vector<std::string>& clusters) {
  Json merged = {{"apiVersion", "v1"},
                 {"kind", "Config"},
                 {"clusters", Json::array()},
                 {"users", Json::array()},
                 {"contexts", Json::array()}};
  for (const std::string& name : clusters) {
    auto it = data_planes_.find(name);
    if (it == data_planes_.end()) return NotFoundError("no data plane " + name);
    BRFED_ASSIGN_OR_RETURN(Json doc, ParseYaml(ReadFile(it->second->kubeconfig)));
    for (const char* list : {"clusters", "users", "contexts"}) {
      for (const auto& entry : doc[list]) merged[list].push_back(entry);
    }
  }
  const std::string tmp = federation_kubeconfig_ + ".tmp";
  std::ofstream(tmp) << DumpJson(merged);
  std::error_code ec;
  fs::rename(tmp, federation_kubeconfig_, ec);
  if (ec) return InternalError("rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Result<std::unique_ptr<ManagerProcess>> FederationSandbox::StartManager(
    const std::string& tag, const std::vector<std::string>& extra) {
  auto m = std::make_unique<ManagerProcess>();
  ProcessOptions o;
  o.binary = kBin + "/src/manager/br-federation-manager";
  o.args = {"--kubeconfig",
            control_plane_->kubeconfig,
            "--federation-kubeconfig-path",
            federation_kubeconfig_,
            "--metrics-addr",
            "127.0.0.1:0",
            "--federation-kubeconfig-poll-interval",
            "200ms",
            "--namespace",
            options_.ns};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  m->log = dir_->File(tag + ".log");
  o.stderr_path = m->log;
  o.stdout_path = dir_->File(tag + ".out");
  BRFED_ASSIGN_OR_RETURN(m->process, Process::Start(o));
  ManagerProcess* raw = m.get();
  const bool serving = WaitFor([raw] {
    const std::string log = ReadFile(raw->log);
    const auto at = log.find("serving metrics");
    if (at == std::string::npos) return false;
    const auto port = log.find("port=", at);
    if (port == std::string::npos) return false;
    raw->metrics_port = std::atoi(log.c_str() + port + 5);
    return raw->metrics_port > 0;
  });
  if (!serving) {
    return UnavailableError("br-federation-manager " + tag +
                            " did not serve metrics: " + ReadFile(m->log));
  }
  return m;
}

std::string FederationSandbox::Metrics(const ManagerProcess& manager) {
  HttpClient c("http://127.0.0.1:" + std::to_string(manager.metrics_port));
  return c.Request("GET", "/metrics", "", "", "*/*", 5s).body;
}

bool FederationSandbox::Ready(const ManagerProcess& manager) {
  HttpClient c("http://127.0.0.1:" + std::to_string(manager.metrics_port));
  return c.Request("GET", "/readyz", "", "", "*/*", 2s).status == 200;
}

CommandResult FederationSandbox::CheckAuditLog() const {
  ProcessOptions o;
  o.binary = kBin + "/src/sim/tidb-operator-sim";
  o.args = {"check", "--audit-log", audit_log_};
  return RunCommand(o, 60s);
}

}  // namespace brfed::testing
