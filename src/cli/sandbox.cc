#include "cli/sandbox.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "cli/output.h"
#include "cli/process.h"
#include "core/excerpt.h"
#include "core/files.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/kubeconfig_merge.h"
#include "launch/commands.h"

namespace brfed::cli {
namespace fs = std::filesystem;
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string LastLines(const std::string& path, int n) {
  const std::string text = ReadFile(path).value_or("");
  size_t pos = text.size();
  for (int i = 0; i <= n && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// A free loopback port (released again; the process we pass it to binds it right away).
Result<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return InternalError("cannot find a free loopback port");
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string RandomToken() {
  std::random_device rd;
  std::string token;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) token += hex[rd() % 16];
  return token;
}

Result<std::shared_ptr<kube::Client>> ClientFor(const std::string& kubeconfig_path,
                                                const std::string& context) {
  BRFED_ASSIGN_OR_RETURN(kube::Kubeconfig kc, kube::Kubeconfig::LoadFile(kubeconfig_path));
  BRFED_ASSIGN_OR_RETURN(kube::RestConfig config, kc.ForContext(context));
  config.timeout = std::chrono::seconds(10);
  return kube::NewClient(config);
}

// Whether an HTTP endpoint answers /healthz at all (any HTTP answer counts: "ok" is not JSON).
bool HttpUp(const std::string& host_port) {
  kube::RestConfig config;
  config.context_name = host_port;
  config.server = "http://" + host_port;
  config.timeout = std::chrono::seconds(2);
  Result<std::shared_ptr<kube::Client>> client = kube::NewClient(config);
  if (!client.ok()) return false;
  Result<Json> r = (*client)->Request("GET", "/healthz", nullptr);
  return r.ok() || (r.status().code() != Code::kUnavailable && r.status().code() != Code::kTimeout);
}

Status EnsureCreated(kube::Client& client, const kube::Resource& r, const std::string& ns,
                     const Json& obj) {
  Result<Json> created = client.Create(r, ns, obj);
  if (created.ok() || created.status().code() == Code::kAlreadyExists) return Status::Ok();
  return created.status().Annotate("creating " + r.kind + " " +
                                   JsonStringAt(obj, {"metadata", "name"}) + " in " +
                                   client.cluster_name());
}

// Starts processes, remembering them so that a failure stops what was started.
class Launcher {
 public:
  Launcher(SandboxState* state, const ProgressFn& progress) : state_(state), progress_(progress) {}

  // Returns the index of the new process in state->processes (pointers would not survive
  // the vector growing).
  Result<size_t> Start(const std::string& name, const std::string& binary,
                       const std::vector<std::string>& args, const std::string& address) {
    const std::string log = state_->dir + "/logs/" + name + ".log";
    BRFED_ASSIGN_OR_RETURN(pid_t pid, SpawnDetached(binary, args, log));
    state_->processes.push_back({name, binary, pid, log, address});
    BRFED_RETURN_IF_ERROR(
        WriteFileAtomically(state_->dir + "/pids/" + name + ".pid", std::to_string(pid) + "\n"));
    // Record every start at once, so that `down` can stop a half-started sandbox.
    BRFED_RETURN_IF_ERROR(
        WriteFileAtomically(state_->dir + "/sandbox.json", state_->ToJson().dump(2) + "\n"));
    progress_("started " + name + " (pid " + std::to_string(pid) + ")");
    return state_->processes.size() - 1;
  }

  // Waits until `ready` holds, failing early if the process dies.
  Status WaitReady(size_t index, std::chrono::milliseconds timeout,
                   const std::function<bool()>& ready) {
    const SandboxProcess p = state_->processes[index];
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
      if (ready()) return Status::Ok();
      if (!IsRunning(p.pid, p.binary)) {
        return UnavailableError(p.name + " exited during start-up; its log " + p.log +
                                " ends with:\n" + LastLines(p.log, 8));
      }
      if (SteadyClock::now() >= deadline) {
        return Status(Code::kTimeout, p.name + " was not ready after " +
                                          std::to_string(timeout.count() / 1000) +
                                          "s; see its log " + p.log + ":\n" + LastLines(p.log, 8));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  SandboxState* state_;
  const ProgressFn& progress_;
};

void StopAll(const SandboxState& state) {
  for (auto it = state.processes.rbegin(); it != state.processes.rend(); ++it) {
    Terminate(it->pid, it->binary, std::chrono::seconds(5));
  }
}

// One API server of the sandbox: the control plane's or a data plane's.
struct SandboxServer {
  std::string name, kubeconfig;
  size_t process;
};

// Phase 1: the API servers, the control plane and one per data plane, started together and
// then waited for; writes the federation kubeconfig merged from the data planes' kubeconfigs.
// Returns its path.
Result<std::string> StartApiServers(const SandboxOptions& o, const SandboxBinaries& bin,
                                    SandboxState& state, Launcher& launcher) {
  std::vector<SandboxServer> servers;
  const bool kube = o.apiserver == SandboxApiServer::kKube;
  auto start_server = [&](const std::string& name, const std::string& kubeconfig,
                          const std::vector<std::string>& crds) -> Status {
    // Tokens only over TLS: kubectl does not send bearer tokens to plain-HTTP servers.
    // kube-apiserver always serves TLS and needs a token.
    const bool tls = o.tls || kube;
    const std::vector<std::string> args = launch::ApiServerArgs({.name = name,
                                                                 .kubeconfig_out = kubeconfig,
                                                                 .listen = "127.0.0.1:0",
                                                                 .tls = tls,
                                                                 .token = tls ? RandomToken() : "",
                                                                 .crd_paths = crds});
    BRFED_ASSIGN_OR_RETURN(size_t p, launcher.Start(name, bin.apiserver, args, ""));
    servers.push_back({name, kubeconfig, p});
    return Status::Ok();
  };
  std::vector<std::string> federation_crds;
  for (const std::string& f : launch::FederationCrdFiles()) {
    federation_crds.push_back(bin.crd_dir + "/" + f);
  }
  BRFED_RETURN_IF_ERROR(start_server("control", o.dir + "/control.kubeconfig", federation_crds));
  for (const std::string& cluster : state.clusters) {
    BRFED_RETURN_IF_ERROR(start_server(cluster, o.dir + "/kubeconfigs/" + cluster + ".kubeconfig",
                                       bin.data_plane_crds));
  }
  // kube-apiserver writes its kubeconfig before its CRDs are Established; its `ready <url>`
  // line comes after. It also takes seconds (not milliseconds) to start.
  const std::chrono::milliseconds server_timeout =
      kube ? std::max<std::chrono::milliseconds>(o.ready_timeout, std::chrono::seconds(180))
           : o.ready_timeout;
  std::vector<std::string> dp_kubeconfigs;
  for (SandboxServer& s : servers) {
    const std::string log = state.processes[s.process].log;
    BRFED_RETURN_IF_ERROR(launcher.WaitReady(s.process, server_timeout, [&] {
      std::error_code ec;
      return fs::exists(s.kubeconfig, ec) &&
             (!kube || launch::ReportedReady(ReadFile(log).value_or("")));
    }));
    Result<kube::Kubeconfig> kc = kube::Kubeconfig::LoadFile(s.kubeconfig);
    if (kc.ok()) {
      if (Result<kube::RestConfig> rc = kc->ForContext(""); rc.ok())
        state.processes[s.process].address = rc->server;
    }
    if (s.name != "control") dp_kubeconfigs.push_back(ReadFile(s.kubeconfig).value_or(""));
  }
  BRFED_ASSIGN_OR_RETURN(Json federation, kube::MergeKubeconfigs(dp_kubeconfigs));
  const std::string federation_path = o.dir + "/federation.kubeconfig";
  BRFED_RETURN_IF_ERROR(WriteFileAtomically(federation_path, ToYaml(federation)));
  return federation_path;
}

// Phase 2: the namespaces the objects live in (o.ns in the control plane, o.tc_namespace in
// every data plane). Returns a client per data plane, in state.clusters order.
Result<std::vector<std::shared_ptr<kube::Client>>> CreateNamespaces(
    const SandboxOptions& o, const SandboxState& state, const std::string& federation_path) {
  BRFED_ASSIGN_OR_RETURN(std::shared_ptr<kube::Client> control,
                         ClientFor(o.dir + "/control.kubeconfig", ""));
  const Json ns_obj = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", o.ns}}}};
  BRFED_RETURN_IF_ERROR(EnsureCreated(*control, kube::resources::Namespace(), "", ns_obj));
  std::vector<std::shared_ptr<kube::Client>> data_planes;
  for (const std::string& cluster : state.clusters) {
    BRFED_ASSIGN_OR_RETURN(std::shared_ptr<kube::Client> dp, ClientFor(federation_path, cluster));
    const Json tc_ns = {
        {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", o.tc_namespace}}}};
    BRFED_RETURN_IF_ERROR(EnsureCreated(*dp, kube::resources::Namespace(), "", tc_ns));
    data_planes.push_back(dp);
  }
  return data_planes;
}

// Phase 3: the simulated TiDB Operator over all data planes; done once it has created the
// TidbCluster in every data plane.
Status StartSimulator(const SandboxOptions& o, const SandboxBinaries& bin,
                      const SandboxState& state, Launcher& launcher,
                      const std::vector<std::shared_ptr<kube::Client>>& data_planes) {
  BRFED_ASSIGN_OR_RETURN(int sim_port, FreePort());
  const std::string sim_addr = "127.0.0.1:" + std::to_string(sim_port);
  launch::SimulatorCommand sim_command{.admin_addr = sim_addr,
                                       .audit_log = o.dir + "/logs/sim-audit.jsonl"};
  for (const std::string& cluster : state.clusters) {
    sim_command.clusters.emplace_back(cluster, o.dir + "/kubeconfigs/" + cluster + ".kubeconfig");
  }
  std::vector<std::string> sim_args = launch::SimulatorArgs(sim_command);
  sim_args.insert(sim_args.end(),
                  {"--tikv-per-cluster", std::to_string(o.tikv_per_cluster), "--speed", o.speed,
                   "--tc-namespace", o.tc_namespace, "--tc-name", o.tc_name});
  BRFED_ASSIGN_OR_RETURN(size_t sim, launcher.Start("sim", bin.sim, sim_args, sim_addr));
  BRFED_RETURN_IF_ERROR(launcher.WaitReady(sim, o.ready_timeout, [&] { return HttpUp(sim_addr); }));
  for (const std::shared_ptr<kube::Client>& dp : data_planes) {
    BRFED_RETURN_IF_ERROR(launcher.WaitReady(sim, o.ready_timeout, [&] {
      return dp->Get(kube::resources::TidbCluster(), o.tc_namespace, o.tc_name).ok();
    }));
  }
  return Status::Ok();
}

// Phase 4: the manager, over the control plane and the federation kubeconfig. Returns its
// metrics address.
Result<std::string> StartManager(const SandboxOptions& o, const SandboxBinaries& bin,
                                 Launcher& launcher, const std::string& federation_path) {
  BRFED_ASSIGN_OR_RETURN(int metrics_port, FreePort());
  const std::string metrics_addr = "127.0.0.1:" + std::to_string(metrics_port);
  BRFED_ASSIGN_OR_RETURN(
      size_t manager,
      launcher.Start("manager", bin.manager,
                     launch::ManagerArgs({.control_plane_kubeconfig = o.dir + "/control.kubeconfig",
                                          .federation_kubeconfig = federation_path,
                                          .ns = o.ns,
                                          .metrics_addr = metrics_addr}),
                     metrics_addr));
  BRFED_RETURN_IF_ERROR(
      launcher.WaitReady(manager, o.ready_timeout, [&] { return HttpUp(metrics_addr); }));
  return metrics_addr;
}

Status StartSandbox(const SandboxOptions& o, const SandboxBinaries& bin, SandboxState& state,
                    const ProgressFn& progress) {
  Launcher launcher(&state, progress);
  BRFED_ASSIGN_OR_RETURN(std::string federation_path, StartApiServers(o, bin, state, launcher));
  BRFED_ASSIGN_OR_RETURN(std::vector<std::shared_ptr<kube::Client>> data_planes,
                         CreateNamespaces(o, state, federation_path));
  progress("API servers ready; namespaces " + o.ns + " (control) and " + o.tc_namespace +
           " (data planes) created");
  BRFED_RETURN_IF_ERROR(StartSimulator(o, bin, state, launcher, data_planes));
  progress("TidbCluster " + o.tc_namespace + "/" + o.tc_name + " present in " +
           std::to_string(data_planes.size()) + " data planes");
  BRFED_ASSIGN_OR_RETURN(std::string metrics_addr, StartManager(o, bin, launcher, federation_path));
  progress("br-federation-manager ready (metrics on " + metrics_addr + ")");
  return Status::Ok();
}

}  // namespace

Json SandboxState::ToJson() const {
  Json procs = Json::array();
  for (const SandboxProcess& p : processes) {
    procs.push_back({{"name", p.name},
                     {"binary", p.binary},
                     {"pid", p.pid},
                     {"log", p.log},
                     {"address", p.address}});
  }
  return {{"dir", dir},
          {"clusters", clusters},
          {"namespace", ns},
          {"tcNamespace", tc_namespace},
          {"tcName", tc_name},
          {"tls", tls},
          {"apiserver", apiserver},
          {"processes", procs}};
}

Result<SandboxState> SandboxState::FromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("sandbox state is not an object");
  SandboxState s;
  s.dir = JsonStringAt(j, {"dir"});
  s.ns = JsonStringAt(j, {"namespace"}, "default");
  s.tc_namespace = JsonStringAt(j, {"tcNamespace"});
  s.tc_name = JsonStringAt(j, {"tcName"});
  s.tls = JsonBoolAt(j, {"tls"});
  s.apiserver = JsonStringAt(j, {"apiserver"}, "brfed-apiserver");
  if (const Json* cs = JsonAt(j, {"clusters"}); cs && cs->is_array()) {
    for (const Json& c : *cs) {
      if (c.is_string()) s.clusters.push_back(c.get<std::string>());
    }
  }
  if (const Json* ps = JsonAt(j, {"processes"}); ps && ps->is_array()) {
    for (const Json& p : *ps) {
      s.processes.push_back({JsonStringAt(p, {"name"}), JsonStringAt(p, {"binary"}),
                             static_cast<pid_t>(JsonIntAt(p, {"pid"})), JsonStringAt(p, {"log"}),
                             JsonStringAt(p, {"address"})});
    }
  }
  return s;
}

Result<SandboxApiServer> ParseSandboxApiServer(const std::string& value) {
  if (value == "brfed-apiserver") return SandboxApiServer::kBrfed;
  if (value == "kube") return SandboxApiServer::kKube;
  return InvalidArgument("--apiserver " + value +
                         " is not an API server; want brfed-apiserver or kube");
}

namespace {

// Upstream's pingcap.com CRDs (tidb-operator release-1.6, unchanged) for kube data planes.
Result<std::vector<std::string>> LocateUpstreamCrds(
    const SandboxSearch& search, const std::function<bool(const std::string&)>& exists) {
  std::vector<fs::path> candidates;
  if (!search.upstream_crd_override.empty()) candidates.push_back(search.upstream_crd_override);
  if (!search.source_dir.empty()) {
    candidates.push_back(fs::path(search.source_dir).parent_path() / "shared" / "upstream" /
                         "tidb-operator-release-1.6" / "manifests" / "crd" / "v1");
  }
  const char* files[] = {"pingcap.com_backups.yaml", "pingcap.com_restores.yaml",
                         "pingcap.com_tidbclusters.yaml"};
  for (const fs::path& dir : candidates) {
    std::vector<std::string> found;
    for (const char* f : files) {
      if (exists((dir / f).string())) found.push_back((dir / f).string());
    }
    if (found.size() == std::size(files)) return found;
  }
  return NotFoundError(
      "cannot find upstream's pingcap.com CRDs (pingcap.com_backups.yaml, "
      "pingcap.com_restores.yaml, pingcap.com_tidbclusters.yaml) for --apiserver kube; set "
      "BRFED_UPSTREAM_CRD_DIR to tidb-operator's manifests/crd/v1 folder");
}

}  // namespace

Result<SandboxBinaries> LocateSandboxBinaries(
    const SandboxSearch& search, const std::function<bool(const std::string&)>& exists) {
  const fs::path exe_dir = fs::path(search.self_exe).parent_path();
  const fs::path build_dir = exe_dir.parent_path().parent_path();  // <build>/src/cli -> <build>
  SandboxBinaries bin;
  auto find = [&](const std::string& name, const fs::path& folder, const std::string& how,
                  std::string* out) -> Status {
    for (const fs::path& candidate : {exe_dir / name, folder / name}) {
      if (exists(candidate.string())) {
        *out = candidate.string();
        return Status::Ok();
      }
    }
    return NotFoundError("cannot find " + name + " next to " + search.self_exe + " or in " +
                         folder.string() + "; " + how);
  };
  auto built = [&](const std::string& name, const std::string& folder, std::string* out) {
    return find(name, build_dir / "src" / folder,
                "build it first (cmake --build <build> --target " + name + ")", out);
  };
  if (search.apiserver == SandboxApiServer::kKube) {
    // scripts/install-deps.sh builds the Go test tools into build/tools/bin, a sibling of the
    // flavour folders (build/release, build/asan).
    BRFED_RETURN_IF_ERROR(find("brfed-kube-testenv",
                               (build_dir.parent_path() / "tools" / "bin").lexically_normal(),
                               "run scripts/install-deps.sh (it builds it)", &bin.apiserver));
  } else {
    BRFED_RETURN_IF_ERROR(built("brfed-apiserver", "apiserver", &bin.apiserver));
  }
  BRFED_RETURN_IF_ERROR(built("tidb-operator-sim", "sim", &bin.sim));
  BRFED_RETURN_IF_ERROR(built("br-federation-manager", "manager", &bin.manager));
  std::vector<fs::path> crd_candidates;
  if (!search.crd_override.empty()) crd_candidates.push_back(search.crd_override);
  if (!search.source_dir.empty()) {
    crd_candidates.push_back(fs::path(search.source_dir) / "deploy" / "crds");
  }
  crd_candidates.push_back(exe_dir / "crds");
  crd_candidates.push_back(exe_dir.parent_path() / "share" / "brfed" / "crds");
  for (const fs::path& candidate : crd_candidates) {
    if (exists((candidate / "test").string())) {
      bin.crd_dir = candidate.string();
      if (search.apiserver == SandboxApiServer::kKube) {
        BRFED_ASSIGN_OR_RETURN(bin.data_plane_crds, LocateUpstreamCrds(search, exists));
      } else {
        bin.data_plane_crds = {(candidate / "test").string()};
      }
      return bin;
    }
  }
  return NotFoundError("cannot find the CRDs (deploy/crds with its test/ folder) under " +
                       search.source_dir + " or next to " + search.self_exe +
                       "; set BRFED_CRD_DIR to the deploy/crds folder of a brfed checkout");
}

std::string SandboxEnvFile(const std::string& dir, const std::string& ns) {
  return "# brfed sandbox: source this file (. " + dir +
         "/env) to point kubectl and brfed at it\n"
         "export KUBECONFIG=" +
         dir + "/control.kubeconfig\nexport BRFED_FEDERATION_KUBECONFIG=" + dir +
         "/federation.kubeconfig\nexport BRFED_NAMESPACE=" + ns +
         "\nexport BRFED_SANDBOX_DIR=" + dir + "\n";
}

std::string DefaultSandboxDir() {
  if (const char* d = std::getenv("BRFED_SANDBOX_DIR"); d && *d) return d;
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.brfed/sandbox";
  }
  return "/tmp/brfed-sandbox-" + std::to_string(getuid());
}

std::string ProcessHealth(const SandboxState& state, const SandboxProcess& process) {
  if (process.name == "sim" || process.name == "manager") {
    if (process.address.empty()) return "-";
    return HttpUp(process.address) ? "ready" : "not ready";
  }
  const std::string kubeconfig = process.name == "control"
                                     ? state.dir + "/control.kubeconfig"
                                     : state.dir + "/kubeconfigs/" + process.name + ".kubeconfig";
  Result<std::shared_ptr<kube::Client>> client = ClientFor(kubeconfig, "");
  if (!client.ok()) return "not ready";
  Result<Json> r = (*client)->Request("GET", "/api", nullptr);
  return r.ok() ? "ready" : "not ready";
}

Result<SandboxState> LoadSandbox(const std::string& dir) {
  const std::string path = dir + "/sandbox.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return NotFoundError("no sandbox in " + dir + " (no sandbox.json)");
  }
  BRFED_ASSIGN_OR_RETURN(Json j, ParseJson(ReadFile(path).value_or("")));
  return SandboxState::FromJson(j);
}

Status CheckSpeed(const std::string& speed) {
  // The simulator's own --speed range; checked here so that a bad value is a usage error of
  // this command (exit 2) rather than a simulator that failed to start.
  char* end = nullptr;
  const double value = std::strtod(speed.c_str(), &end);
  if (speed.empty() || end != speed.c_str() + speed.size() || !std::isfinite(value) ||
      value < 0.001 || value > 1e6) {
    return InvalidArgument("--speed " + Quote(speed) + " must be a number from 0.001 to 1000000");
  }
  return Status::Ok();
}

Result<SandboxState> SandboxUp(const SandboxOptions& o, const ProgressFn& progress) {
  if (o.clusters < 1 || o.clusters > 20) {
    return InvalidArgument("--clusters " + std::to_string(o.clusters) + " is out of range 1..20");
  }
  if (o.tikv_per_cluster < 1 || o.tikv_per_cluster > 50) {
    return InvalidArgument("--tikv-per-cluster " + std::to_string(o.tikv_per_cluster) +
                           " is out of range 1..50");
  }
  BRFED_RETURN_IF_ERROR(CheckSpeed(o.speed));
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return InvalidArgument("cannot create sandbox folder " + o.dir + ": " + ec.message());
  const std::string dir = fs::canonical(o.dir, ec).string();
  if (Result<SandboxState> existing = LoadSandbox(dir); existing.ok()) {
    std::string running;
    for (const SandboxProcess& p : existing->processes) {
      if (IsRunning(p.pid, p.binary)) running += (running.empty() ? "" : ", ") + p.name;
    }
    if (!running.empty()) {
      return Status(Code::kAlreadyExists,
                    "a sandbox is already running in " + dir + " (" + running + "); use it (. " +
                        dir + "/env) or stop it with `brfed sandbox down --dir " + dir + "`");
    }
    // A stale state from a sandbox whose processes are gone: start afresh.
    SandboxDown(dir, false).value_or({});
  }
  const char* crd_env = std::getenv("BRFED_CRD_DIR");
  const char* upstream_env = std::getenv("BRFED_UPSTREAM_CRD_DIR");
  SandboxSearch search{SelfExecutable(), BRFED_CLI_SOURCE_DIR, crd_env ? crd_env : "",
                       upstream_env ? upstream_env : "", o.apiserver};
  Result<SandboxBinaries> bin = LocateSandboxBinaries(search, [](const std::string& p) {
    std::error_code e;
    return fs::exists(p, e);
  });
  if (!bin.ok()) return bin.status();
  for (const char* sub : {"logs", "pids", "kubeconfigs"})
    fs::create_directories(dir + "/" + sub, ec);

  SandboxOptions options = o;
  options.dir = dir;
  SandboxState state;
  state.dir = dir;
  state.ns = o.ns;
  state.tc_namespace = o.tc_namespace;
  state.tc_name = o.tc_name;
  state.tls = o.tls || o.apiserver == SandboxApiServer::kKube;
  state.apiserver = o.apiserver == SandboxApiServer::kKube ? "kube" : "brfed-apiserver";
  for (int i = 1; i <= o.clusters; ++i) state.clusters.push_back("dp-" + std::to_string(i));
  Status started = StartSandbox(options, *bin, state, progress);
  if (!started.ok()) {
    StopAll(state);
    fs::remove(dir + "/sandbox.json", ec);
    return started;
  }
  BRFED_RETURN_IF_ERROR(WriteFileAtomically(dir + "/sandbox.json", state.ToJson().dump(2) + "\n"));
  BRFED_RETURN_IF_ERROR(WriteFileAtomically(dir + "/env", SandboxEnvFile(dir, o.ns)));
  return state;
}

Result<std::vector<std::string>> SandboxDown(const std::string& dir, bool purge) {
  BRFED_ASSIGN_OR_RETURN(SandboxState state, LoadSandbox(dir));
  std::vector<std::string> stopped;
  for (auto it = state.processes.rbegin(); it != state.processes.rend(); ++it) {
    if (Terminate(it->pid, it->binary, std::chrono::seconds(10))) stopped.push_back(it->name);
  }
  std::error_code ec;
  if (purge) {
    fs::remove_all(dir, ec);
  } else {
    for (const char* f : {"sandbox.json", "env", "control.kubeconfig", "federation.kubeconfig"}) {
      fs::remove(dir + "/" + f, ec);
    }
    fs::remove_all(dir + "/pids", ec);
    fs::remove_all(dir + "/kubeconfigs", ec);
  }
  return stopped;
}

}  // namespace brfed::cli
