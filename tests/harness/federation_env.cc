#include "tests/harness/federation_env.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "kube/kubeconfig_merge.h"
#include "launch/commands.h"

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

ApiServerOptions FederationEnv::ApiServerOptionsFor(const std::string& name,
                                                    Backend backend) const {
  ApiServerOptions o;
  o.dir = dir_->File(name);
  o.name = name;
  o.backend = backend;
  if (name == "control-plane") {
    for (const std::string& f : launch::FederationCrdFiles()) {
      o.extra_args.insert(o.extra_args.end(), {"--crd", FederationCrd(f)});
    }
  } else {
    o.extra_args = DataPlaneCrdArgs(backend);
  }
  o.extra_args.insert(o.extra_args.end(), {"--audit-log", api_server_audit_log(name)});
  if (backend == Backend::kBrfedApiServer) {
    o.extra_args.insert(o.extra_args.end(), options_.brfed_apiserver_args.begin(),
                        options_.brfed_apiserver_args.end());
  }
  if (options_.persistent) o.data_dir = o.dir + "/data";
  return o;
}

const ApiServer& FederationEnv::api_server(const std::string& name) const {
  return name == "control-plane" ? *control_plane_ : *data_planes_.at(name);
}

Result<std::unique_ptr<FederationEnv>> FederationEnv::Start(const FederationEnvOptions& options) {
  std::unique_ptr<FederationEnv> env(new FederationEnv());
  env->dir_ = std::make_unique<TempDir>();
  env->ns_ = options.ns;
  env->options_ = options;
  const Backend backend = TestBackend();

  ApiServerOptions cp = env->ApiServerOptionsFor("control-plane", backend);
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
    ApiServerOptions o = env->ApiServerOptionsFor(name, backend);
    fs::create_directories(o.dir);
    BRFED_ASSIGN_OR_RETURN(ApiServer dp, StartApiServer(o));
    env->data_planes_[name] = std::make_unique<ApiServer>(std::move(dp));
  }

  env->audit_log_ = env->dir_->File("audit.log");
  launch::SimulatorCommand sim_command{.admin_addr = "127.0.0.1:0", .audit_log = env->audit_log_};
  for (const auto& [name, server] : env->data_planes_) {
    sim_command.clusters.emplace_back(name, server->kubeconfig);
  }
  ProcessOptions sim;
  sim.binary = SimBinary();
  sim.args = launch::SimulatorArgs(sim_command);
  sim.args.insert(sim.args.end(), options.sim_args.begin(), options.sim_args.end());
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
  if (options_.exec_plugin) {
    BRFED_RETURN_IF_ERROR(UseExecPlugin(merged, dir_->File("exec-plugin"), exec_plugin_runs_log(),
                                        *options_.exec_plugin));
  }
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
  o.args = launch::ManagerArgs({.control_plane_kubeconfig = control_plane_->kubeconfig,
                                .federation_kubeconfig = federation_kubeconfig_,
                                .ns = ns_,
                                .metrics_addr = "127.0.0.1:0"});
  o.args.insert(o.args.end(), {"--federation-kubeconfig-poll-interval", "200ms"});
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

namespace {

constexpr char kTidbClusters[] = "/apis/pingcap.com/v1alpha1/namespaces/tidb/tidbclusters";

// The simulator's TidbCluster of a data plane, without what the server stamps on it.
Result<Json> ReadTidbCluster(const ApiServer& server) {
  HttpResponse r = server.Client().Request("GET", std::string(kTidbClusters) + "/basic");
  if (r.status != 200) {
    return UnavailableError("get TidbCluster: " + std::to_string(r.status) + " " + r.error);
  }
  BRFED_ASSIGN_OR_RETURN(Json tc, ParseJson(r.body));
  Json meta = {{"name", tc["metadata"]["name"]}, {"namespace", tc["metadata"]["namespace"]}};
  tc["metadata"] = meta;
  return tc;
}

// Puts the TidbCluster back into a data plane that lost its data, as the simulator made it at
// start: namespace, object, then status (through /status when the CRD has the subresource).
Status RecreateTidbCluster(const ApiServer& server, const Json& tc) {
  HttpClient client = server.Client();
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "tidb"}}}};
  HttpResponse r = client.Request("POST", "/api/v1/namespaces", DumpJson(ns));
  if (r.status != 201 && r.status != 409) {
    return UnavailableError("create namespace tidb: " + std::to_string(r.status) + r.body);
  }
  r = client.Request("POST", kTidbClusters, DumpJson(tc));
  if (r.status != 201) return UnavailableError("create TidbCluster: " + r.body + r.error);
  BRFED_ASSIGN_OR_RETURN(Json stored, ParseJson(r.body));
  if (stored.contains("status")) return Status::Ok();
  stored["status"] = tc["status"];
  r = client.Request("PUT", std::string(kTidbClusters) + "/basic/status", DumpJson(stored));
  if (r.status != 200) return UnavailableError("write TidbCluster status: " + r.body + r.error);
  return Status::Ok();
}

}  // namespace

Status FederationEnv::RestartApiServer(const std::string& name, bool keep_data) {
  if (!options_.persistent) return InvalidArgument("RestartApiServer needs options.persistent");
  const bool control = name == "control-plane";
  if (!control && data_planes_.count(name) == 0) return InvalidArgument("no API server " + name);
  std::unique_ptr<ApiServer>& slot = control ? control_plane_ : data_planes_.at(name);
  Json tidbcluster;
  if (!control && !keep_data) {
    auto it = tidbclusters_.find(name);
    if (it == tidbclusters_.end()) {
      BRFED_ASSIGN_OR_RETURN(tidbcluster, ReadTidbCluster(*slot));
    } else {
      tidbcluster = it->second;
    }
    tidbclusters_[name] = tidbcluster;
  }
  ApiServerOptions o = ApiServerOptionsFor(name, slot->backend);
  // The same token (kube-apiserver otherwise makes a new one: every client would get 401).
  o.token = slot->token;
  // The same address, so that every kubeconfig still reaches it.
  const std::string port = slot->url.substr(slot->url.rfind(':') + 1);
  o.extra_args.insert(o.extra_args.end(), {"--listen", "127.0.0.1:" + port});
  slot->process->Kill();
  (void)slot->process->Wait(30s);
  if (!keep_data) {
    std::error_code ec;
    // kube-apiserver's certificates and tokens stay (clients keep trusting it); etcd goes.
    fs::remove_all(slot->backend == Backend::kKube ? o.data_dir + "/etcd" : o.data_dir, ec);
    if (ec) return InternalError("remove the data of " + name + ": " + ec.message());
  }
  BRFED_ASSIGN_OR_RETURN(ApiServer restarted, StartApiServer(o));
  *slot = std::move(restarted);
  if (tidbcluster.is_null()) return Status::Ok();
  return RecreateTidbCluster(*slot, tidbcluster);
}

Status FederationEnv::RememberTidbClusters() {
  for (const auto& [name, server] : data_planes_) {
    BRFED_ASSIGN_OR_RETURN(tidbclusters_[name], ReadTidbCluster(*server));
  }
  return Status::Ok();
}

Status FederationEnv::PrepareRestoreTargets(const std::vector<std::string>& data_planes) {
  const Json patch = {
      {"spec", {{"recoveryMode", true}}},
      {"metadata", {{"annotations", {{"tidb.pingcap.com/tikv-volumes-ready", nullptr}}}}}};
  for (const auto& name : data_planes) {
    HttpResponse r =
        data_plane(name).Client().Request("PATCH", std::string(kTidbClusters) + "/basic",
                                          DumpJson(patch), "application/merge-patch+json");
    if (r.status != 200) {
      return UnavailableError("prepare the TidbCluster of " + name + " for a restore: " +
                              std::to_string(r.status) + " " + r.error + r.body);
    }
  }
  auto seen_by_sim = [&] {
    auto state = ParseJson(sim_admin_->Request("GET", "/state").body);
    if (!state.ok()) return false;
    for (const auto& name : data_planes) {
      const Json* tc = JsonAt(*state, {"tidbclusters", name + "/tidb/basic"});
      if (tc == nullptr || !JsonBoolAt(*tc, {"recoveryMode"}) ||
          !JsonStringAt(*tc, {"tikvVolumesReady"}).empty()) {
        return false;
      }
    }
    return true;
  };
  if (!WaitFor(seen_by_sim, 60s)) {
    return UnavailableError("the simulator did not see recovery mode on within 60 s");
  }
  return Status::Ok();
}

CommandResult FederationEnv::CheckAuditLog() const {
  ProcessOptions o;
  o.binary = SimBinary();
  o.args = {"check", "--audit-log", audit_log_};
  return RunCommand(o, 60s);
}

}  // namespace brfed::testing
