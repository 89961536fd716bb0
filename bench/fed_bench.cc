// fed_bench: end-to-end benchmarks of br-federation-manager against real processes on loopback
// (issues 10, 16 and 18). Each scenario starts a control-plane API server, N data-plane API
// servers (brfed-apiserver, or a real kube-apiserver through brfed-kube-testenv with --backend
// kube; all with --audit-log), tidb-operator-sim --zero-latency (failure_release: --speed; plus
// --imitate-resync when asked) and the manager, drives VolumeBackups / VolumeRestores through the
// API, and computes its figures afterwards from the audit logs and the VolumeBackups'
// status.steps[]. Results go to <out>/<scenario>[_kube][_resync].json (shape: bench/README.md).
//
// Usage: fed_bench --out DIR [--commit SHA] [--scenario NAME]... [--backups N] [--backend B]
//                  [--imitate-resync] [--bin-dir DIR]
// Scenarios: hop_latency_1dp hop_latency_3dp (+restore_3dp) hop_latency_10dp (+gc_pause_10dp)
//            scale_10dp_200 (+startup_10dp), finished_10dp, failure_release (issue 18: the
//            pause from a member's failure to its release, simulator at --speed 1), idle_pause
//            (issue 16: backups long apart, credentials from an exec plugin).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "api/labels.h"
#include "core/duration.h"
#include "core/json.h"
#include "core/time.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/kubeconfig_merge.h"
#include "kube/resource.h"
#include "tests/harness/exec_plugin.h"
#include "tests/harness/harness.h"
#include "tests/harness/objects.h"

#ifndef BRFED_BUILD_TYPE
#define BRFED_BUILD_TYPE "unknown"
#endif

namespace brfed::bench {
namespace {

namespace fs = std::filesystem;
using testing::ApiServer;
using testing::Process;
using testing::ProcessOptions;
using testing::WaitFor;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const std::string kNs = "default";  // VolumeBackups / VolumeRestores (control plane)
const std::string kTcNs = testing::kSimTcNamespace;  // members and TidbCluster (data planes)
const std::string kTcName = testing::kSimTcName;     // the simulator's default TidbCluster
const char kManagerAgent[] = "br-federation-manager/";
const char kSimAgent[] = "tidb-operator-sim/";
const char kImplied[] = "implied by design, not measured";

// Fatal setup problem: unwinds to main, so the destructors stop every process started so far.
struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void Die(const std::string& what) { throw Fatal(what); }

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// Microseconds since the epoch from an RFC 3339 timestamp (audit logs); -1 when unparsable.
int64_t WallMicros(const std::string& text) {
  auto t = ParseRfc3339(text);
  if (!t.ok()) return -1;
  return std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
}

std::vector<Json> ReadJsonLines(const std::string& path) {
  std::vector<Json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = ParseJson(line);
    if (j.ok()) out.push_back(std::move(*j));
  }
  return out;
}

// Nearest-rank percentiles of samples in milliseconds.
Json Stats(std::vector<double> ms) {
  Json s = {{"samples", ms.size()}};
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * ms.size()));
    return ms[std::clamp<size_t>(rank, 1, ms.size()) - 1];
  };
  auto round3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  s["p50_ms"] = round3(pct(50));
  s["p90_ms"] = round3(pct(90));
  s["p99_ms"] = round3(pct(99));
  s["max_ms"] = round3(ms.back());
  return s;
}

std::shared_ptr<kube::Client> ClientFor(const std::string& kubeconfig) {
  auto config = kube::Kubeconfig::LoadFile(kubeconfig);
  if (!config.ok()) Die(config.status().ToString());
  auto rest = config->ForContext("");
  if (!rest.ok()) Die(rest.status().ToString());
  rest->qps = 1000;
  rest->burst = 2000;
  rest->user_agent = "fed_bench";
  auto client = kube::NewClient(*rest);
  if (!client.ok()) Die(client.status().ToString());
  return *client;
}

// A port free on 127.0.0.1 right now (the manager logs its metrics port only at info level).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// /proc figures of one process.
struct ProcStats {
  double cpu_seconds = 0;
  long vm_hwm_kib = 0;
  long vm_rss_kib = 0;
};
ProcStats ReadProc(pid_t pid) {
  ProcStats p;
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (in >> x) f.push_back(x);
    // After the command: state(0) ... utime(11) stime(12).
    if (f.size() > 12) {
      p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / sysconf(_SC_CLK_TCK);
    }
  }
  std::istringstream status(testing::ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) p.vm_hwm_kib = std::atol(line.c_str() + 6);
    if (line.rfind("VmRSS:", 0) == 0) p.vm_rss_kib = std::atol(line.c_str() + 6);
  }
  return p;
}

// How a scenario runs: which API server, which simulator timing, which product binaries.
struct EnvOptions {
  testing::Backend backend = testing::Backend::kBrfedApiServer;
  bool imitate_resync = false;  // tidb-operator-sim --imitate-resync (TiDB Operator's 30 s waits)
  // tidb-operator-sim --snapshot-seconds ("" = none: with zero latency the snapshots complete
  // inside the pause window, and the members' last writes race the manager's resumeGcSchedule).
  std::string snapshot_seconds;
  // The simulator's timing flags: no delays for the hop scenarios; failure_release sets a speed
  // (and volume size) so that jobs take time and a failure can land while one runs.
  std::vector<std::string> simulator_timing = {"--zero-latency"};
  // Holds src/manager/..., src/sim/... and src/apiserver/... (brfed-apiserver backend).
  std::string bin_dir = BRFED_BINARY_DIR;
  // The manager authenticates to the data planes through the harness's exec credential plugin
  // (as through `aws eks get-token` on EKS) instead of their tokens; unset: their tokens.
  std::optional<testing::ExecPluginOptions> exec_plugin;
};

// Control plane + N data planes + simulator + manager, all on loopback.
class Env {
 public:
  Env(int data_planes, EnvOptions options) : options_(std::move(options)) {
    for (int i = 1; i <= data_planes; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "dp%02d", i);
      names_.push_back(name);
    }
  }
  ~Env() {
    manager_.reset();
    sim_.reset();
  }

  void StartServers() {
    testing::ApiServerOptions cp;
    cp.dir = dir_.File("cp");
    cp.name = "control-plane";
    cp.backend = options_.backend;
    cp.binary = BrfedApiServerBinary();
    cp.extra_args = {"--audit-log", AuditOf("cp")};
    for (const char* f :
         {"federation.pingcap.com_volumebackups.yaml", "federation.pingcap.com_volumerestores.yaml",
          "federation.pingcap.com_volumebackupschedules.yaml"}) {
      cp.extra_args.push_back("--crd");
      cp.extra_args.push_back(testing::FederationCrd(f));
    }
    fs::create_directories(cp.dir);
    auto started = testing::StartApiServer(cp);
    if (!started.ok()) Die(started.status().ToString());
    control_plane_ = std::make_unique<ApiServer>(std::move(*started));
    cp_client_ = ClientFor(control_plane_->kubeconfig);
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNs}}}};
    auto created = cp_client_->Create(kube::resources::Namespace(), "", ns);
    if (!created.ok() && created.status().code() != Code::kAlreadyExists) {
      Die(created.status().ToString());
    }
    for (const auto& name : names_) {
      testing::ApiServerOptions o;
      o.dir = dir_.File(name);
      o.name = name;
      o.backend = options_.backend;
      o.binary = BrfedApiServerBinary();
      o.extra_args = testing::DataPlaneCrdArgs(options_.backend);
      o.extra_args.insert(o.extra_args.end(), {"--audit-log", AuditOf(name)});
      fs::create_directories(o.dir);
      auto dp = testing::StartApiServer(o);
      if (!dp.ok()) Die(dp.status().ToString());
      data_planes_.push_back(std::make_unique<ApiServer>(std::move(*dp)));
      dp_clients_.push_back(ClientFor(data_planes_.back()->kubeconfig));
    }
    WriteFederationKubeconfig();
  }

  void StartSimulator() {
    ProcessOptions sim;
    sim.binary = options_.bin_dir + "/src/sim/tidb-operator-sim";
    for (size_t i = 0; i < names_.size(); ++i) {
      sim.args.push_back("--cluster");
      sim.args.push_back(names_[i] + "=" + data_planes_[i]->kubeconfig);
    }
    sim.args.insert(sim.args.end(), options_.simulator_timing.begin(),
                    options_.simulator_timing.end());
    sim.args.insert(sim.args.end(),
                    {"--tikv-per-cluster", "1", "--volumes-per-store", "1", "--audit-log",
                     SimAudit(), "--admin-addr", "127.0.0.1:0", "--log-level", "warn"});
    if (options_.imitate_resync) sim.args.push_back("--imitate-resync");
    if (!options_.snapshot_seconds.empty()) {
      sim.args.insert(sim.args.end(), {"--snapshot-seconds", options_.snapshot_seconds});
    }
    sim.stdout_path = dir_.File("sim.out");
    sim.stderr_path = dir_.File("sim.err");
    auto p = Process::Start(sim);
    if (!p.ok()) Die(p.status().ToString());
    sim_ = std::move(*p);
    if (!WaitFor([&] {
          return testing::ReadFile(dir_.File("sim.out")).find("admin-port ") != std::string::npos;
        })) {
      Die("simulator did not start: " + testing::ReadFile(dir_.File("sim.err")));
    }
    const std::string out = testing::ReadFile(dir_.File("sim.out"));
    sim_admin_ = std::make_unique<testing::HttpClient>(
        "http://127.0.0.1:" +
        std::to_string(std::atoi(out.c_str() + out.find("admin-port ") + 11)));
    // The simulator creates the TidbClusters; wait for them so members find them.
    for (auto& c : dp_clients_) {
      if (!WaitFor([&] { return c->Get(kube::resources::TidbCluster(), kTcNs, kTcName).ok(); })) {
        Die("TidbCluster not created by the simulator");
      }
    }
  }

  // Starts the manager; returns seconds from fork/exec to the first 200 from /readyz.
  // BRFED_BENCH_MANAGER_WRAPPER, e.g. "valgrind --tool=callgrind": a command (split at
  // spaces) the manager runs under, to count its instructions whatever the machine's load.
  // Timings are then meaningless; deadlines are longer.
  static std::vector<std::string> ManagerWrapper() {
    std::vector<std::string> words;
    const char* wrapper = std::getenv("BRFED_BENCH_MANAGER_WRAPPER");
    std::istringstream in(wrapper != nullptr ? wrapper : "");
    for (std::string w; in >> w;) words.push_back(w);
    return words;
  }
  static void WrapManager(ProcessOptions& o) {
    std::vector<std::string> wrapper = ManagerWrapper();
    if (wrapper.empty()) return;
    std::vector<std::string> args(wrapper.begin() + 1, wrapper.end());
    args.push_back(o.binary);
    args.insert(args.end(), o.args.begin(), o.args.end());
    o.binary = wrapper.front();
    o.args = std::move(args);
  }

  double StartManager(const std::string& tag) {
    manager_.reset();
    const int port = FreePort();
    metrics_port_ = port;
    ProcessOptions o;
    o.binary = options_.bin_dir + "/src/manager/br-federation-manager";
    o.args = {"--kubeconfig",
              control_plane_->kubeconfig,
              "--federation-kubeconfig-path",
              dir_.File("federation-kubeconfig"),
              "--metrics-addr",
              "127.0.0.1:" + std::to_string(port),
              "--leader-elect=false",
              "--namespace",
              kNs,
              "--log-level",
              "warn"};
    o.args.insert(o.args.end(), manager_args_.begin(), manager_args_.end());
    WrapManager(o);
    manager_log_ = dir_.File(tag + ".log");
    o.stderr_path = manager_log_;
    o.stdout_path = dir_.File(tag + ".out");
    auto start = SteadyClock::now();
    manager_started_ = start;
    auto p = Process::Start(o);
    if (!p.ok()) Die(p.status().ToString());
    manager_ = std::move(*p);
    testing::HttpClient metrics("http://127.0.0.1:" + std::to_string(port));
    bool ready =
        WaitFor([&] { return metrics.Request("GET", "/readyz", "", "", "*/*", 2s).status == 200; },
                ManagerWrapper().empty() ? 60s : 600s);
    if (!ready) Die("manager not ready: " + testing::ReadFile(manager_log_));
    return Seconds(SteadyClock::now() - start);
  }

  void StopSimulator() { sim_.reset(); }

  // The simulator's admin endpoint (docs/sim.md): faults, /state.
  const testing::HttpClient& sim_admin() const { return *sim_admin_; }

  // The running manager's /metrics text ("" when it does not answer).
  std::string ManagerMetrics() const {
    testing::HttpClient metrics("http://127.0.0.1:" + std::to_string(metrics_port_));
    auto r = metrics.Request("GET", "/metrics", "", "", "*/*", 2s);
    return r.status == 200 ? r.body : "";
  }
  SteadyClock::time_point manager_started() const { return manager_started_; }
  kube::Client& control_plane_client() { return *cp_client_; }
  const std::vector<std::shared_ptr<kube::Client>>& data_plane_clients() const {
    return dp_clients_;
  }

  void StopManager() {
    if (!manager_) return;
    manager_->Terminate();
    (void)manager_->Wait(ManagerWrapper().empty() ? 20s : 300s);
    manager_.reset();
  }

  Json VolumeBackup(const std::string& name) const {
    return testing::VolumeBackupObject(kNs, name, names_);
  }

  Json VolumeRestore(const std::string& name, const std::string& backup) const {
    Json vr = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
               {"kind", "VolumeRestore"},
               {"metadata", {{"name", name}, {"namespace", kNs}}},
               {"spec",
                {{"volumeBackupName", backup},
                 {"clusters", Json::array()},
                 {"template", {{"br", {{"sendCredToTikv", false}}}}}}}};
    for (const auto& c : names_) {
      vr["spec"]["clusters"].push_back(
          {{"k8sClusterName", c}, {"tcName", kTcName}, {"tcNamespace", kTcNs}});
    }
    return vr;
  }

  // Creates the objects, then waits until each has a terminal phase. Returns name -> phase.
  std::map<std::string, std::string> RunBatch(const kube::Resource& resource,
                                              const std::vector<Json>& objects,
                                              std::chrono::milliseconds deadline) {
    std::map<std::string, std::string> phases;
    for (const auto& o : objects) {
      auto r = cp_client_->Create(resource, kNs, o);
      std::string name = JsonStringAt(o, {"metadata", "name"});
      phases[name] = r.ok() ? "" : "CreateError: " + r.status().ToString();
    }
    const std::set<std::string> terminal = {"Complete", "Failed", "Invalid"};
    WaitFor(
        [&] {
          // A LIST of every object: poll gently so the driver does not load the machine it
          // measures (every figure comes from the audit logs; the poll only ends the batch).
          // Every 5 ms, the LISTs of a 10-backup batch cost the control plane's kube-apiserver
          // about as much CPU as the manager's own writes.
          std::this_thread::sleep_for(std::chrono::milliseconds(objects.size() > 20 ? 200 : 50));
          auto list = cp_client_->List(resource, kNs);
          if (!list.ok()) return false;
          const Json* items = JsonAt(*list, {"items"});
          if (items == nullptr) return false;
          for (const auto& item : *items) {
            std::string name = JsonStringAt(item, {"metadata", "name"});
            auto it = phases.find(name);
            if (it != phases.end() && it->second.empty()) {
              std::string phase = JsonStringAt(item, {"status", "phase"});
              if (terminal.count(phase)) it->second = phase;
            }
          }
          for (const auto& [n, p] : phases) {
            if (p.empty()) return false;
          }
          return true;
        },
        deadline);
    for (auto& [n, p] : phases) {
      if (p.empty()) p = "Timeout";
    }
    return phases;
  }

  void SetRecoveryMode() {
    for (auto& c : dp_clients_) {
      auto r = c->Patch(kube::resources::TidbCluster(), kTcNs, kTcName, kube::PatchType::kMerge,
                        Json{{"spec", {{"recoveryMode", true}}}});
      if (!r.ok()) Die("recoveryMode: " + r.status().ToString());
    }
  }

  // The manager's own view of the named VolumeBackups' pauses, from status.steps[] GCPause:
  // timeTaken and controlPlaneTimeTaken (no samples from a manager without them).
  Json ManagerPauseView(const std::vector<std::string>& names) const {
    const std::set<std::string> wanted(names.begin(), names.end());
    std::vector<double> whole, share;
    auto ms = [](const Json& step, const char* field, std::vector<double>& out) {
      auto d = ParseGoDuration(JsonStringAt(step, {field}));
      if (d.ok()) out.push_back(std::chrono::duration<double, std::milli>(*d).count());
    };
    auto list = cp_client_->List(kube::resources::VolumeBackup(), kNs);
    const Json* items = list.ok() ? JsonAt(*list, {"items"}) : nullptr;
    for (const Json& item : items ? *items : Json::array()) {
      if (!wanted.count(JsonStringAt(item, {"metadata", "name"}))) continue;
      const Json* steps = JsonAt(item, {"status", "steps"});
      for (const Json& step : steps && steps->is_array() ? *steps : Json::array()) {
        if (JsonStringAt(step, {"stepName"}) != "GCPause") continue;
        ms(step, "timeTaken", whole);
        ms(step, "controlPlaneTimeTaken", share);
      }
    }
    return {{"gc_pause", Stats(whole)}, {"control_plane", Stats(share)}};
  }

  // CPU seconds used so far by each kind of process (utime + stime from /proc): the manager,
  // the simulator, the control-plane API server and the data-plane API servers together.
  std::map<std::string, double> CpuSeconds() const {
    auto cpu = [](const Process* p) { return p ? ReadProc(p->pid()).cpu_seconds : 0.0; };
    std::map<std::string, double> out = {
        {"manager", cpu(manager_.get())},
        {"simulator", cpu(sim_.get())},
        {"control_plane_api_server", cpu(control_plane_->process.get())},
        {"data_plane_api_servers", 0.0}};
    for (const auto& dp : data_planes_) out["data_plane_api_servers"] += cpu(dp->process.get());
    return out;
  }

  // max(VmHWM, VmRSS) of the running manager, MiB.
  double ManagerPeakRssMib() const {
    if (!manager_) return 0;
    ProcStats p = ReadProc(manager_->pid());
    return std::round(std::max(p.vm_hwm_kib, p.vm_rss_kib) / 1024.0 * 10) / 10;
  }

  // `tidb-operator-sim check` on the simulator's audit log: number of violations.
  Json SimulatorCheck() {
    ProcessOptions o;
    o.binary = options_.bin_dir + "/src/sim/tidb-operator-sim";
    o.args = {"check", "--audit-log", SimAudit()};
    auto r = testing::RunCommand(o, 120s);
    size_t violations = 0;
    for (size_t at = r.out.find("VIOLATION"); at != std::string::npos;
         at = r.out.find("VIOLATION", at + 1)) {
      ++violations;
    }
    return {{"exit_code", r.exit_code}, {"violations", violations}};
  }

  // Copies the logs and audit logs (for a look afterwards) into `dest`.
  void KeepLogs(const std::string& dest) const {
    std::error_code ec;
    fs::create_directories(dest, ec);
    fs::copy(dir_.path(), dest, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
             ec);
    if (ec) std::cerr << "fed_bench: keeping logs in " << dest << ": " << ec.message() << "\n";
  }

  void set_manager_args(std::vector<std::string> args) { manager_args_ = std::move(args); }
  const EnvOptions& options() const { return options_; }
  std::string AuditOf(const std::string& server) const {
    return dir_.File(server + "-audit.jsonl");
  }
  std::string SimAudit() const { return dir_.File("sim-audit.jsonl"); }
  std::string BrfedApiServerBinary() const {
    return options_.bin_dir + "/src/apiserver/brfed-apiserver";
  }
  // Where the exec plugin (EnvOptions::exec_plugin) logs its runs (testing::ExecPluginRuns).
  std::string ExecPluginRunsLog() const { return dir_.File("exec-plugin-runs"); }
  const std::vector<std::string>& names() const { return names_; }
  Process* manager() { return manager_.get(); }
  const std::string& manager_log() const { return manager_log_; }

 private:
  void WriteFederationKubeconfig() {
    std::vector<std::string> kubeconfigs;
    for (const auto& dp : data_planes_) kubeconfigs.push_back(testing::ReadFile(dp->kubeconfig));
    auto merged = kube::MergeKubeconfigs(kubeconfigs);
    if (!merged.ok()) Die(merged.status().ToString());
    if (options_.exec_plugin) {
      Status st = testing::UseExecPlugin(*merged, dir_.File("exec-plugin"), ExecPluginRunsLog(),
                                         *options_.exec_plugin);
      if (!st.ok()) Die(st.ToString());
    }
    std::ofstream(dir_.File("federation-kubeconfig")) << DumpJson(*merged);
  }

  EnvOptions options_;
  std::vector<std::string> names_;
  testing::TempDir dir_;
  std::unique_ptr<ApiServer> control_plane_;
  std::vector<std::unique_ptr<ApiServer>> data_planes_;
  std::shared_ptr<kube::Client> cp_client_;
  std::vector<std::shared_ptr<kube::Client>> dp_clients_;
  std::unique_ptr<Process> sim_;
  std::unique_ptr<testing::HttpClient> sim_admin_;
  std::unique_ptr<Process> manager_;
  std::string manager_log_;
  std::vector<std::string> manager_args_;  // extra manager flags
  int metrics_port_ = 0;
  SteadyClock::time_point manager_started_;
};

// The audit logs of one environment, indexed for the hop computations.
class Audit {
 public:
  struct Write {
    int64_t us;  // wall microseconds (API server's audit time)
    std::string verb;
  };

  explicit Audit(const Env& env) {
    LoadServer("cp", env.AuditOf("cp"));
    for (const auto& n : env.names()) LoadServer(n, env.AuditOf(n));
    for (auto& [key, list] : manager_writes_) SortByTime(list);
    for (auto& [key, list] : sim_writes_) SortByTime(list);
    for (const Json& e : ReadJsonLines(env.SimAudit())) {
      const std::string event = JsonStringAt(e, {"event"});
      if (event == "condition") {
        // First persisted write of each condition type per member.
        std::string key = JsonStringAt(e, {"cluster"}) + "/" + JsonStringAt(e, {"name"});
        std::string type = JsonStringAt(e, {"type"});
        auto& slot = conditions_[key][type];
        if (slot == 0) slot = WallMicros(JsonStringAt(e, {"wall"}));
      } else if (event == "pd_pause") {
        pauses_[JsonStringAt(e, {"holder"})].first = JsonIntAt(e, {"mono_ns"});
        pause_walls_[MemberNameOf(JsonStringAt(e, {"holder"}))].first =
            WallMicros(JsonStringAt(e, {"wall"}));
      } else if (event == "pd_resume" || event == "pd_pause_expired") {
        const std::string holder = JsonStringAt(e, {"holder"});
        pauses_[holder].second = JsonIntAt(e, {"mono_ns"});
        pause_walls_[MemberNameOf(holder)].second = WallMicros(JsonStringAt(e, {"wall"}));
        if (event == "pd_pause_expired") ++pause_expiries_;
        releases_.emplace(
            MemberNameOf(holder),
            Release{WallMicros(JsonStringAt(e, {"wall"})),
                    event == "pd_resume" ? JsonStringAt(e, {"why"}) : "pause expired (TTL)"});
      } else if (event == "snapshot_create") {
        snapshot_creates_[MemberNameOf(JsonStringAt(e, {"owner"}))].push_back(
            WallMicros(JsonStringAt(e, {"wall"})));
      }
    }
  }

  // A pause's release as the simulator logged it: its wall time and `why` (docs/sim.md).
  struct Release {
    int64_t us = -1;
    std::string why;
  };
  // The release of the pause held for the member `member` (its init member's holder), if any.
  std::optional<Release> ReleaseOf(const std::string& member) const {
    auto it = releases_.find(member);
    if (it == releases_.end()) return std::nullopt;
    return it->second;
  }
  // Snapshots any member named `member` started (in any cluster) after `after_us`.
  int SnapshotsStartedAfter(const std::string& member, int64_t after_us) const {
    auto it = snapshot_creates_.find(member);
    if (it == snapshot_creates_.end()) return 0;
    return static_cast<int>(std::count_if(it->second.begin(), it->second.end(),
                                          [&](int64_t us) { return us > after_us; }));
  }

  // The data-plane API server's time of the simulator's write that persisted a condition; -1
  // if none. The simulator records a condition as it sends the write (since 9025681), so that
  // write is the first successful simulator write on the member at or after the record (before
  // 9025681 it was the last one before it: taking that one now picked the previous write, up to
  // a whole simulated stage earlier).
  int64_t ConditionWrite(const std::string& cluster, const std::string& member,
                         const std::string& type) const {
    auto c = conditions_.find(cluster + "/" + member);
    if (c == conditions_.end()) return -1;
    auto t = c->second.find(type);
    if (t == c->second.end()) return -1;
    auto w = sim_writes_.find(cluster + "/" + member);
    if (w == sim_writes_.end()) return t->second;
    for (const auto& write : w->second) {  // sorted by time
      if (write.us >= t->second) return write.us;
    }
    return t->second;
  }

  // Latest ConditionWrite over clusters; -1 when any is missing.
  int64_t LastConditionWrite(const std::vector<std::string>& clusters, const std::string& member,
                             const std::string& type) const {
    int64_t last = -1;
    for (const auto& c : clusters) {
      int64_t t = ConditionWrite(c, member, type);
      if (t < 0) return -1;
      last = std::max(last, t);
    }
    return last;
  }

  // First manager write (of `verb`, or any) after `after_us` on `object` in any of `servers`;
  // -1 if none.
  int64_t NextManagerWrite(const std::vector<std::string>& servers, const std::string& object,
                           int64_t after_us, const std::string& verb = "") const {
    int64_t first = -1;
    for (const auto& s : servers) {
      auto it = manager_writes_.find(s + "/" + object);
      if (it == manager_writes_.end()) continue;
      for (const auto& w : it->second) {
        if (w.us > after_us && (verb.empty() || w.verb == verb)) {
          if (first < 0 || w.us < first) first = w.us;
          break;
        }
      }
    }
    return first;
  }

  // The manager's execute write on `member` in `cluster`: on the init member's cluster (the
  // first) the execute patch, its first write after its create; elsewhere the member's create.
  // -1 if none. Found by their order, not as "the next write after the Initialized write": a
  // server writes its audit line a little after it answers, so a write reacting to another can
  // carry an earlier time, and the next write after it would be the following step's.
  int64_t ExecuteWrite(const std::vector<std::string>& clusters, const std::string& cluster,
                       const std::string& member) const {
    const int64_t created = NextManagerWrite({cluster}, member, -1, "create");
    if (cluster != clusters.front() || created < 0) return created;
    return NextManagerWrite({cluster}, member, created);
  }

  // The manager's resumeGcSchedule write: its next write on the init member after the execute
  // patch (alone, or with teardown when every member completed first). -1 if none.
  int64_t ResumeWrite(const std::vector<std::string>& clusters, const std::string& member) const {
    const int64_t execute = ExecuteWrite(clusters, clusters.front(), member);
    return execute < 0 ? -1 : NextManagerWrite({clusters.front()}, member, execute);
  }

  // The earliest (`first`) or latest execute write over `clusters`; -1 when one is missing.
  int64_t ExecuteWriteBound(const std::vector<std::string>& clusters, const std::string& member,
                            bool first) const {
    int64_t bound = -1;
    for (const auto& c : clusters) {
      const int64_t t = ExecuteWrite(clusters, c, member);
      if (t < 0) return -1;
      bound = bound < 0 ? t : first ? std::min(bound, t) : std::max(bound, t);
    }
    return bound;
  }

  // The manager's share of one backup's pause as the API servers saw it (ms): the init
  // member's Initialized write -> the last execute write (the execute patch on the init member,
  // the creates elsewhere), plus the last SnapshotsCreated write -> the resumeGcSchedule write
  // (ResumeWrite); -1 when a mark is missing.
  double ControlPlaneShareMs(const std::vector<std::string>& clusters,
                             const std::string& member) const {
    const int64_t initialized = ConditionWrite(clusters.front(), member, "VolumeBackupInitialized");
    if (initialized < 0) return -1;
    const int64_t executed = ExecuteWriteBound(clusters, member, false);
    if (executed < 0) return -1;
    const int64_t snapshots = LastConditionWrite(clusters, member, "VolumeBackupSnapshotsCreated");
    if (snapshots < 0) return -1;
    const int64_t resumed = ResumeWrite(clusters, member);
    if (resumed < 0) return -1;
    return ((executed - initialized) + (resumed - snapshots)) / 1000.0;
  }

  // Where one backup's pause went (ms), from its start to its end: the marks are the
  // simulator's pd_pause, the init member's Initialized write, the manager's last execute
  // write, the last data plane's first simulator write after it (the simulator saw it), the
  // last SnapshotsCreated write, the manager's resumeGcSchedule write, and the simulator's
  // pd_resume. Every mark is a wall time on this machine (API servers' audit time of a write,
  // the simulator's audit time of a PD event). Empty when a mark is missing.
  std::vector<double> PauseSegmentsMs(const std::vector<std::string>& clusters,
                                      const std::string& member) const {
    auto walls = pause_walls_.find(member);
    if (walls == pause_walls_.end() || walls->second.first <= 0 || walls->second.second <= 0) {
      return {};
    }
    const int64_t initialized = ConditionWrite(clusters.front(), member, "VolumeBackupInitialized");
    if (initialized < 0) return {};
    int64_t executed = -1, seen = -1;
    for (const auto& c : clusters) {
      const int64_t t = ExecuteWrite(clusters, c, member);
      if (t < 0) return {};
      executed = std::max(executed, t);
      const int64_t s = NextSimWrite(c, member, t);
      if (s < 0) return {};
      seen = std::max(seen, s);
    }
    const int64_t snapshots = LastConditionWrite(clusters, member, "VolumeBackupSnapshotsCreated");
    if (snapshots < 0) return {};
    const int64_t resumed = ResumeWrite(clusters, member);
    if (resumed < 0) return {};
    const int64_t marks[] = {walls->second.first, initialized, executed, seen, snapshots, resumed,
                             walls->second.second};
    std::vector<double> out;
    for (size_t i = 1; i < std::size(marks); ++i) out.push_back((marks[i] - marks[i - 1]) / 1e3);
    return out;
  }

  // First simulator write on `object` in data plane `server` after `after_us`; -1 if none.
  int64_t NextSimWrite(const std::string& server, const std::string& object,
                       int64_t after_us) const {
    auto it = sim_writes_.find(server + "/" + object);
    if (it == sim_writes_.end()) return -1;
    for (const auto& w : it->second) {
      if (w.us > after_us) return w.us;
    }
    return -1;
  }

  // The API servers' own time (audit latency_ms) of every successful write by the simulator
  // and by the manager in the data planes and the control plane.
  Json WriteLatencies() const {
    return {{"simulator_writes", Stats(sim_write_ms_)},
            {"manager_writes", Stats(manager_write_ms_)}};
  }

  // Pause lengths (ms) of the holders whose member name is in `members`.
  std::vector<double> PauseLengths(const std::set<std::string>& members) const {
    std::vector<double> out;
    for (const auto& [holder, span] : pauses_) {
      if (members.count(MemberNameOf(holder)) == 0) continue;
      if (span.first > 0 && span.second > 0) out.push_back((span.second - span.first) / 1e6);
    }
    return out;
  }
  int pause_expiries() const { return pause_expiries_; }

  // Manager requests by server kind and verb, with error codes, within [from_us, to_us].
  Json ManagerRequests(int64_t from_us, int64_t to_us) const {
    Json by = {{"control_plane", Json::object()}, {"data_planes", Json::object()}};
    Json errors = Json::object();
    long total = 0;
    long conflicts = 0;
    long writes = 0;
    long status_writes = 0;  // VolumeBackup status writes, answered or not
    for (const auto& r : manager_requests_) {
      if (r.us < from_us || r.us > to_us) continue;
      if (kWrites.count(r.verb)) ++writes;
      if (r.server == "cp" && r.resource == "volumebackups" && r.subresource == "status" &&
          (r.verb == "patch" || r.verb == "update")) {
        ++status_writes;
      }
      auto& bucket = by[r.server == "cp" ? "control_plane" : "data_planes"];
      std::string verb = r.verb + (r.subresource.empty() ? "" : "/" + r.subresource);
      bucket[verb] = bucket.value(verb, 0) + 1;
      if (r.code == 409) {
        ++conflicts;  // optimistic concurrency on a stale cache: retried by design
      } else if (r.code >= 400) {
        std::string code = std::to_string(r.code);
        errors[code] = errors.value(code, 0) + 1;
      }
      ++total;
    }
    return {{"by_verb", by},          {"error_codes", errors},
            {"conflicts", conflicts}, {"total", total},
            {"writes", writes},       {"volume_backup_status_writes", status_writes}};
  }

 private:
  struct Request {
    int64_t us;
    std::string server, verb, resource, subresource;
    int code;
  };
  static inline const std::set<std::string> kWrites = {"create", "update", "patch", "delete"};
  // The member name in a simulator member key <cluster>/<namespace>/<name>/<uid> or PD holder
  // <key>#init; "" when it has fewer parts.
  static std::string MemberNameOf(const std::string& key) {
    std::vector<std::string> parts;
    std::stringstream in(key);
    std::string part;
    while (std::getline(in, part, '/')) parts.push_back(part);
    return parts.size() < 3 ? "" : parts[2];
  }
  static void SortByTime(std::vector<Write>& list) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Write& a, const Write& b) { return a.us < b.us; });
  }
  // One request of either audit format: brfed-apiserver's lines, or kube-apiserver's
  // audit.k8s.io/v1 Events (only their ResponseComplete stage; the others repeat the request).
  struct Line {
    int64_t us = -1;
    std::string agent, verb, resource, subresource, name;
    int code = 0;
    double latency_ms = -1;  // brfed-apiserver only
  };
  static std::optional<Line> Normalize(const Json& j) {
    Line l;
    if (j.contains("auditID")) {
      if (JsonStringAt(j, {"stage"}) != "ResponseComplete") return std::nullopt;
      l.us = WallMicros(JsonStringAt(j, {"stageTimestamp"}));
      l.agent = JsonStringAt(j, {"userAgent"});
      l.verb = JsonStringAt(j, {"verb"});
      l.resource = JsonStringAt(j, {"objectRef", "resource"});
      l.subresource = JsonStringAt(j, {"objectRef", "subresource"});
      l.name = JsonStringAt(j, {"objectRef", "name"});
      l.code = static_cast<int>(JsonIntAt(j, {"responseStatus", "code"}));
      return l;
    }
    l.us = WallMicros(JsonStringAt(j, {"time"}));
    l.agent = JsonStringAt(j, {"user_agent"});
    l.verb = JsonStringAt(j, {"verb"});
    l.resource = JsonStringAt(j, {"resource"});
    l.subresource = JsonStringAt(j, {"subresource"});
    l.name = JsonStringAt(j, {"name"});
    l.code = static_cast<int>(JsonIntAt(j, {"code"}));
    if (const Json* ms = JsonAt(j, {"latency_ms"}); ms != nullptr && ms->is_number()) {
      l.latency_ms = ms->get<double>();
    }
    return l;
  }

  void LoadServer(const std::string& server, const std::string& path) {
    for (const Json& json : ReadJsonLines(path)) {
      const auto line = Normalize(json);
      if (!line) continue;
      const std::string& verb = line->verb;
      const int code = line->code;
      const int64_t us = line->us;
      const bool manager = line->agent.rfind(kManagerAgent, 0) == 0;
      const bool sim = line->agent.rfind(kSimAgent, 0) == 0;
      if (manager) {
        manager_requests_.push_back({us, server, verb, line->resource, line->subresource, code});
      }
      if (!kWrites.count(verb) || code < 200 || code >= 300) continue;
      std::string key = server + "/" + line->name;
      if (manager) manager_writes_[key].push_back({us, verb});
      if (sim) sim_writes_[key].push_back({us, verb});
      if (line->latency_ms >= 0 && (manager || sim)) {
        (manager ? manager_write_ms_ : sim_write_ms_).push_back(line->latency_ms);
      }
    }
  }

  std::map<std::string, std::vector<Write>> manager_writes_;  // "<server>/<object name>"
  std::map<std::string, std::vector<Write>> sim_writes_;
  std::map<std::string, std::map<std::string, int64_t>> conditions_;  // "<cluster>/<member>"
  std::map<std::string, std::pair<int64_t, int64_t>> pauses_;         // holder -> mono ns
  std::map<std::string, std::pair<int64_t, int64_t>> pause_walls_;    // member name -> wall us
  std::vector<double> sim_write_ms_, manager_write_ms_;
  std::map<std::string, Release> releases_;                       // member name -> first
  std::map<std::string, std::vector<int64_t>> snapshot_creates_;  // member name -> wall us
  std::vector<Request> manager_requests_;
  int pause_expiries_ = 0;
};

struct HopDef {
  std::string name;
  std::string description;
};

// The samples of each hop in `defs` (reaction - trigger, in ms) over a run's objects, and how
// many could not be matched.
class HopTable {
 public:
  explicit HopTable(std::vector<HopDef> defs) : defs_(std::move(defs)), samples_(defs_.size()) {}

  // One object's trigger and reaction times (audit µs, -1 where not found), one per hop.
  void Add(const int64_t* triggers, const int64_t* reactions) {
    for (size_t i = 0; i < defs_.size(); ++i) {
      if (triggers[i] < 0 || reactions[i] < 0) {
        ++missing_;
        continue;
      }
      samples_[i].push_back((reactions[i] - triggers[i]) / 1000.0);
    }
  }

  Json ToJson() const {
    Json hops = Json::array();
    for (size_t i = 0; i < defs_.size(); ++i) {
      Json h = Stats(samples_[i]);
      h["hop"] = defs_[i].name;
      h["description"] = defs_[i].description;
      hops.push_back(h);
    }
    return {{"hops", hops}, {"unmatched_hops", missing_}};
  }

 private:
  std::vector<HopDef> defs_;
  std::vector<std::vector<double>> samples_;
  int missing_ = 0;
};

// Backup hops for the given VolumeBackups (all members in `clusters`, init member first).
Json BackupHops(const Audit& audit, const std::vector<std::string>& clusters,
                const std::vector<std::string>& backups) {
  HopTable table(
      {{"initialized_to_execute",
        "init member's VolumeBackupInitialized status write -> manager's first execute write "
        "(the execute patch on the init member, or an execute create elsewhere)"},
       {"snapshots_created_to_resume_gc",
        "last member's VolumeBackupSnapshotsCreated status write -> manager's resumeGcSchedule "
        "write (its next write on the init member after the execute patch)"},
       {"complete_to_teardown",
        "last member's VolumeBackupComplete status write -> manager's next member write "
        "(teardown)"},
       {"teardown_complete_to_volumebackup_complete",
        "last member's Complete status write -> manager's next VolumeBackup write on the control "
        "plane (Complete)"}});
  for (const auto& vb : backups) {
    const std::string member = "fed-" + vb;
    int64_t triggers[4] = {
        audit.ConditionWrite(clusters.front(), member, "VolumeBackupInitialized"),
        audit.LastConditionWrite(clusters, member, "VolumeBackupSnapshotsCreated"),
        audit.LastConditionWrite(clusters, member, "VolumeBackupComplete"),
        audit.LastConditionWrite(clusters, member, "Complete")};
    int64_t reactions[4] = {
        triggers[0] < 0 ? -1 : audit.ExecuteWriteBound(clusters, member, true),
        triggers[1] < 0 ? -1 : audit.ResumeWrite(clusters, member),
        triggers[2] < 0 ? -1 : audit.NextManagerWrite(clusters, member, triggers[2]),
        triggers[3] < 0 ? -1 : audit.NextManagerWrite({"cp"}, vb, triggers[3])};
    table.Add(triggers, reactions);
  }
  return table.ToJson();
}

Json RestoreHops(const Audit& audit, const std::vector<std::string>& clusters,
                 const std::vector<std::string>& restores) {
  HopTable table(
      {{"volume_complete_to_volumerestore_volume_complete",
        "last member's VolumeComplete status write -> manager's next VolumeRestore write on the "
        "control plane"},
       {"tikv_complete_to_restore_data",
        "last member's TikvComplete status write -> manager's next member write (restore-data)"},
       {"data_complete_to_restore_finish",
        "DataComplete status write -> manager's next member write (restore-finish)"},
       {"complete_to_volumerestore_complete",
        "last member's Complete status write -> manager's next VolumeRestore write on the control "
        "plane (Complete)"}});
  for (const auto& vr : restores) {
    const std::string member = "fed-" + vr;
    int64_t data_complete = -1;
    for (const auto& c : clusters) {
      int64_t t = audit.ConditionWrite(c, member, "DataComplete");
      if (t >= 0) data_complete = t;
    }
    int64_t triggers[4] = {audit.LastConditionWrite(clusters, member, "VolumeComplete"),
                           audit.LastConditionWrite(clusters, member, "TikvComplete"),
                           data_complete, audit.LastConditionWrite(clusters, member, "Complete")};
    int64_t reactions[4] = {
        triggers[0] < 0 ? -1 : audit.NextManagerWrite({"cp"}, vr, triggers[0]),
        triggers[1] < 0 ? -1 : audit.NextManagerWrite(clusters, member, triggers[1]),
        triggers[2] < 0 ? -1 : audit.NextManagerWrite(clusters, member, triggers[2]),
        triggers[3] < 0 ? -1 : audit.NextManagerWrite({"cp"}, vr, triggers[3])};
    table.Add(triggers, reactions);
  }
  return table.ToJson();
}

Json Machine() {
  std::string model;
  std::istringstream in(testing::ReadFile("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return {{"cores", std::thread::hardware_concurrency()}, {"cpu_model", model}};
}

struct Context {
  std::string out_dir;
  std::string commit;
  int backups = 100;
  int batch = 10;
  int restores = 20;
  int scale = 200;
  std::string keep_logs;  // "" = logs go with the temporary folder
  int scale_qps = 50;     // the manager's --kube-client-qps in the scale scenario
  int scale_data_planes = 10;
  // The scale scenario's simulator --speed; "" = --zero-latency (see --scale-speed).
  std::string scale_speed;
  int finished = 1000;      // finished VolumeBackups in the finished_10dp scenario
  int failure_rounds = 10;  // failure_release: VolumeBackups per fault case and timing
  int failure_data_planes = 3;
  std::string failure_speed = "1";           // failure_release: tidb-operator-sim --speed
  int idle_backups = 5;                      // idle_pause: VolumeBackups, one at a time
  int idle_gap_seconds = 20;                 // idle_pause: idle time before each
  std::string exec_plugin_seconds = "0.33";  // idle_pause: one exec plugin run
  int credential_lifetime_seconds = 75;      // idle_pause: the tokens it issues
  EnvOptions env;

  // Result names of the non-default variants: <scenario>[_kube][_resync][_snapS].
  std::string Suffix() const {
    return std::string(env.backend == testing::Backend::kKube ? "_kube" : "") +
           (env.imitate_resync ? "_resync" : "") +
           (env.snapshot_seconds.empty() ? "" : "_snap" + env.snapshot_seconds);
  }
  // TiDB Operator's 30 s waits make a backup take minutes instead of seconds.
  std::chrono::milliseconds BatchDeadline(std::chrono::milliseconds fast) const {
    return env.imitate_resync ? fast * 5 : fast;
  }
  std::string Simulator() const {
    return std::string("--zero-latency") + (env.imitate_resync ? " --imitate-resync" : "") +
           (env.snapshot_seconds.empty() ? "" : " --snapshot-seconds " + env.snapshot_seconds) +
           ", 1 TiKV store x 1 volume per data plane";
  }
  Json Config(int data_planes, int volume_backups, int batch) const {
    return {{"data_planes", data_planes}, {"volume_backups", volume_backups},
            {"concurrent_batch", batch},  {"backend", testing::BackendName(env.backend)},
            {"simulator", Simulator()},   {"bin_dir", env.bin_dir}};
  }
};

// The segments of Audit::PauseSegmentsMs, in order, and whose work each one is.
struct PauseSegment {
  const char* name;
  const char* by;
};
const std::vector<PauseSegment> kPauseSegments = {
    {"pd_pause_to_initialized_write", "simulator"},
    {"initialized_to_last_execute_write", "manager"},
    {"last_execute_write_to_last_data_plane_reacting", "simulator"},
    {"last_data_plane_reacting_to_last_snapshots_created", "simulator"},
    {"last_snapshots_created_to_resume_gc_write", "manager"},
    {"resume_gc_write_to_pd_resume", "simulator"}};

// Issue 16's figures of one run: the pause from three sides (the API servers' audit logs, the
// manager's status.steps[], the simulator's PD) and what the manager's writes cost.
Json PauseAndCost(const Audit& audit, const std::vector<std::string>& clusters,
                  const std::vector<std::string>& backups, const Json& manager_view,
                  const Json& requests, double rss_mib) {
  std::vector<double> shares;
  std::set<std::string> members;
  std::vector<std::vector<double>> segments(kPauseSegments.size());
  for (const auto& vb : backups) {
    members.insert("fed-" + vb);
    const double share = audit.ControlPlaneShareMs(clusters, "fed-" + vb);
    if (share >= 0) shares.push_back(share);
    const std::vector<double> s = audit.PauseSegmentsMs(clusters, "fed-" + vb);
    for (size_t i = 0; i < s.size() && i < segments.size(); ++i) segments[i].push_back(s[i]);
  }
  Json breakdown = Json::array();
  for (size_t i = 0; i < kPauseSegments.size(); ++i) {
    Json seg = Stats(segments[i]);
    seg["segment"] = kPauseSegments[i].name;
    seg["by"] = kPauseSegments[i].by;
    breakdown.push_back(seg);
  }
  const long writes = requests["writes"].get<long>();
  const long conflicts = requests["conflicts"].get<long>();
  auto per_vb = [&](long n) {
    return backups.empty() ? 0.0 : std::round(double(n) / backups.size() * 100) / 100;
  };
  return {{"control_plane_share_audit", Stats(shares)},
          {"manager_view", manager_view},
          {"whole_pause", Stats(audit.PauseLengths(members))},
          {"pause_segments", breakdown},
          {"api_server_write_latency", audit.WriteLatencies()},
          {"status_writes_per_volume_backup",
           per_vb(requests["volume_backup_status_writes"].get<long>())},
          {"manager_writes", writes},
          {"manager_conflicts", conflicts},
          {"conflict_percent_of_manager_writes",
           writes == 0 ? 0.0 : std::round(100.0 * conflicts / writes * 100) / 100},
          {"manager_peak_rss_mib", rss_mib}};
}

// /proc/loadavg's 1, 5 and 15 minute figures (the machine is shared: the tails follow them).
Json LoadAverage() {
  std::istringstream in(testing::ReadFile("/proc/loadavg"));
  double one = 0, five = 0, fifteen = 0;
  in >> one >> five >> fifteen;
  return Json::array({one, five, fifteen});
}

Json Header(const Context& ctx, const std::string& name, const std::string& description) {
  return {{"name", name},
          {"load_average_at_start", LoadAverage()},
          {"description", description},
          {"schema_version", 1},
          {"machine", Machine()},
          {"build_type", BRFED_BUILD_TYPE},
          {"git_commit", ctx.commit},
          {"started", FormatRfc3339Micro(std::chrono::system_clock::now())}};
}

void Write(const Context& ctx, Json result) {
  result["load_average_at_end"] = LoadAverage();
  const std::string path = ctx.out_dir + "/" + JsonStringAt(result, {"name"}) + ".json";
  std::ofstream(path) << result.dump(2) << "\n";
  std::cerr << "fed_bench: wrote " << path << "\n";
}

Json GoHops(const std::vector<std::string>& hops) {
  Json out = {{"label", kImplied},
              {"basis",
               "upstream has no watch on data-plane members; every handshake hop waits for the "
               "next 30 s informer resync (upstream-features.md 4.1), so a hop takes 0..30 s, "
               "uniformly: p50 ~15 s, p99 ~29.7 s, max 30 s"},
              {"hops", Json::array()}};
  for (const auto& h : hops) {
    out["hops"].push_back({{"hop", h}, {"p50_ms", 15000}, {"p99_ms", 29700}, {"max_ms", 30000}});
  }
  return out;
}

const std::vector<std::string> kBackupHopNames = {
    "initialized_to_execute", "snapshots_created_to_resume_gc", "complete_to_teardown",
    "teardown_complete_to_volumebackup_complete"};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs `count` VolumeBackups in batches of `batch`; returns the names and the phase counts.
std::vector<std::string> RunBackups(Env& env, const std::string& prefix, int count, int batch,
                                    std::chrono::milliseconds deadline, Json& phases) {
  std::vector<std::string> names;
  for (int start = 0; start < count; start += batch) {
    std::vector<Json> objects;
    for (int i = start; i < std::min(count, start + batch); ++i) {
      names.push_back(prefix + std::to_string(i));
      objects.push_back(env.VolumeBackup(names.back()));
    }
    for (const auto& [n, p] : env.RunBatch(kube::resources::VolumeBackup(), objects, deadline)) {
      phases[p] = phases.value(p, 0) + 1;
    }
  }
  return names;
}

// Audit::ManagerRequests' counts by side and verb, divided by `volume_backups`.
Json PerVolumeBackup(const Json& requests, int volume_backups) {
  Json per_vb = {{"control_plane", Json::object()}, {"data_planes", Json::object()}};
  for (const char* side : {"control_plane", "data_planes"}) {
    for (auto& [verb, n] : requests["by_verb"][side].items()) {
      per_vb[side][verb] = std::round(n.get<double>() / std::max(volume_backups, 1) * 100) / 100;
    }
  }
  return per_vb;
}

// brfed_volume_backup_status_writes_total by cause, per VolumeBackup, from the manager's
// /metrics (empty for a manager without the series).
Json StatusWritesByCause(const std::string& metrics, int volume_backups) {
  Json out = Json::object();
  const std::string series = "brfed_volume_backup_status_writes_total{cause=\"";
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series, 0) != 0) continue;
    const size_t end = line.find('"', series.size());
    if (end == std::string::npos) continue;
    out[line.substr(series.size(), end - series.size())] =
        std::round(std::atof(line.c_str() + line.rfind(' ') + 1) / volume_backups * 100) / 100;
  }
  return out;
}

void HopScenario(const Context& ctx, int data_planes, bool with_restore, bool with_gc) {
  const std::string name = "hop_latency_" + std::to_string(data_planes) + "dp" + ctx.Suffix();
  std::cerr << "fed_bench: " << name << "\n";
  Json result =
      Header(ctx, name,
             "VolumeBackup orchestration hops: data-plane status write -> manager's reacting "
             "write, from the API servers' audit logs");
  Env env(data_planes, ctx.env);
  env.StartServers();
  env.StartSimulator();
  env.StartManager("manager");
  auto start = SteadyClock::now();
  const int64_t from_us = NowMicros();
  const std::map<std::string, double> cpu_before = env.CpuSeconds();
  Json phases = Json::object();
  std::vector<std::string> names =
      RunBackups(env, "hop-", ctx.backups, ctx.batch, ctx.BatchDeadline(120s), phases);
  const double backup_seconds = Seconds(SteadyClock::now() - start);
  Json cpu_ms_per_vb = Json::object();  // where the machine's time went, per VolumeBackup
  for (const auto& [process, seconds] : env.CpuSeconds()) {
    cpu_ms_per_vb[process] =
        std::round((seconds - cpu_before.at(process)) * 1e3 / names.size() * 10) / 10;
  }
  const int64_t to_us = NowMicros();
  const double rss_mib = env.ManagerPeakRssMib();
  const std::string metrics = env.ManagerMetrics();
  const Json writes_by_cause = StatusWritesByCause(metrics, static_cast<int>(names.size()));
  if (!ctx.keep_logs.empty()) {
    // The manager's histograms (queue wait, reconcile time, client latency, hop) for a look.
    fs::create_directories(ctx.keep_logs + "/" + name);
    std::ofstream(ctx.keep_logs + "/" + name + "/manager-metrics.txt") << metrics;
  }

  Json restore_phases = Json::object();
  std::vector<std::string> restores;
  double restore_seconds = 0;
  if (with_restore) {
    auto rstart = SteadyClock::now();
    // One TidbCluster per data plane: restores run one at a time, each in recovery mode.
    for (int i = 0; i < ctx.restores && i < static_cast<int>(names.size()); ++i) {
      env.SetRecoveryMode();
      restores.push_back("rs-" + std::to_string(i));
      for (const auto& [n, p] :
           env.RunBatch(kube::resources::VolumeRestore(),
                        {env.VolumeRestore(restores.back(), names[i])}, ctx.BatchDeadline(60s))) {
        restore_phases[p] = restore_phases.value(p, 0) + 1;
      }
    }
    restore_seconds = Seconds(SteadyClock::now() - rstart);
  }
  env.StopManager();
  const Json manager_view = env.ManagerPauseView(names);
  Json check = env.SimulatorCheck();
  if (!ctx.keep_logs.empty()) env.KeepLogs(ctx.keep_logs + "/" + name);
  Audit audit(env);

  result["config"] = ctx.Config(data_planes, ctx.backups, ctx.batch);
  Json hops = BackupHops(audit, env.names(), names);
  Json requests = audit.ManagerRequests(from_us, to_us);
  result["results"] = {
      {"phases", phases},
      {"wall_seconds", std::round(backup_seconds * 1000) / 1000},
      {"hops", hops["hops"]},
      {"unmatched_hops", hops["unmatched_hops"]},
      {"manager_requests_per_volume_backup",
       PerVolumeBackup(requests, static_cast<int>(names.size()))},
      {"manager_requests_total", requests["total"]},
      {"manager_request_conflicts", requests["conflicts"]},
      {"pause_and_cost", PauseAndCost(audit, env.names(), names, manager_view, requests, rss_mib)},
      {"status_writes_per_volume_backup_by_cause", writes_by_cause},
      {"cpu_ms_per_volume_backup", cpu_ms_per_vb},
      {"simulator_check", check}};
  result["target"] = {{"hop_p99_ms", 50}};
  result["go_original"] = GoHops(kBackupHopNames);
  Write(ctx, result);

  if (with_gc) {
    Json gc = Header(ctx, "gc_pause_" + std::to_string(data_planes) + "dp" + ctx.Suffix(),
                     "GC/PD-scheduler pause window per VolumeBackup (simulator audit "
                     "pd_pause -> pd_resume, monotonic clock) minus the simulator's configured "
                     "work inside it");
    std::set<std::string> members;
    for (const auto& n : names) members.insert("fed-" + n);
    Json pause = Stats(audit.PauseLengths(members));
    gc["config"] = result["config"];
    gc["results"] = {
        {"pause", pause},
        {"configured_work_ms", 0},
        {"overhead", pause},
        {"pause_expiries", audit.pause_expiries()},
        {"note", ctx.env.imitate_resync
                     ? "with --imitate-resync the window includes TiDB Operator's 30 s "
                       "resync waits that fall inside it, so only part of it is overhead"
                     : "with --zero-latency every simulated step takes 0 ms, so the whole "
                       "pause is control-plane + API + simulator-process overhead"}};
    gc["target"] = {{"overhead_ms", 100}};
    gc["go_original"] = {
        {"label", kImplied},
        {"basis",
         "the pause spans initialized->execute and snapshots-created->resumeGcSchedule, each "
         "waiting for the next 30 s resync: overhead 0..60 s, ~30 s typical"},
        {"overhead_typical_ms", 30000},
        {"overhead_max_ms", 60000}};
    Write(ctx, gc);
  }
  if (with_restore) {
    Json rs = Header(ctx, "restore_" + std::to_string(data_planes) + "dp" + ctx.Suffix(),
                     "VolumeRestore orchestration hops (spec.volumeBackupName, no warm-up): "
                     "data-plane status write -> manager's reacting write");
    rs["config"] = ctx.Config(data_planes, 0, 1);
    rs["config"]["volume_restores"] = restores.size();
    rs["config"]["simulator"] = ctx.Simulator() + "; recoveryMode set before each restore";
    Json rh = RestoreHops(audit, env.names(), restores);
    rs["results"] = {{"phases", restore_phases},
                     {"wall_seconds", std::round(restore_seconds * 1000) / 1000},
                     {"hops", rh["hops"]},
                     {"unmatched_hops", rh["unmatched_hops"]},
                     {"simulator_check", check}};
    rs["target"] = {{"hop_p99_ms", 50}};
    rs["go_original"] =
        GoHops({"volume_complete_to_volumerestore_volume_complete", "tikv_complete_to_restore_data",
                "data_complete_to_restore_finish", "complete_to_volumerestore_complete"});
    Write(ctx, rs);
  }
}

void ScaleScenario(const Context& ctx) {
  const int data_planes = ctx.scale_data_planes;
  const std::string dp = std::to_string(data_planes) + "dp";
  const std::string speed_suffix = ctx.scale_speed.empty() ? "" : "_speed" + ctx.scale_speed;
  const std::string name =
      "scale_" + dp + "_" + std::to_string(ctx.scale) + ctx.Suffix() + speed_suffix;
  std::cerr << "fed_bench: " << name << "\n";
  const Json load_at_start = LoadAverage();
  EnvOptions env_options = ctx.env;
  if (!ctx.scale_speed.empty()) env_options.simulator_timing = {"--speed", ctx.scale_speed};
  Env env(data_planes, env_options);
  env.set_manager_args({"--kube-client-qps", std::to_string(ctx.scale_qps), "--kube-client-burst",
                        std::to_string(ctx.scale_qps * 2)});
  env.StartServers();
  env.StartSimulator();

  // Start to ready, a few times; the last incarnation runs the scale test.
  std::vector<double> ready_ms;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) env.StopManager();
    ready_ms.push_back(env.StartManager("manager-" + std::to_string(i)) * 1000.0);
  }
  Json startup = Header(ctx, "startup_" + dp + ctx.Suffix() + speed_suffix,
                        "br-federation-manager start (exec) to the first 200 from /readyz, " +
                            std::to_string(data_planes) + " data planes, leader election off");
  startup["config"] = ctx.Config(data_planes, 0, 0);
  startup["config"]["runs"] = ready_ms.size();
  startup["results"] = {{"start_to_ready", Stats(ready_ms)}};
  startup["target"] = Json::object();
  startup["go_original"] = {{"label", kImplied}, {"basis", "not comparable: no published figure"}};
  Write(ctx, startup);

  const pid_t pid = env.manager()->pid();
  ProcStats before = ReadProc(pid);
  std::vector<std::string> names;
  std::vector<Json> objects;
  for (int i = 0; i < ctx.scale; ++i) {
    names.push_back("sc-" + std::to_string(i));
    objects.push_back(env.VolumeBackup(names.back()));
  }
  const int64_t from_us = NowMicros();
  auto start = SteadyClock::now();
  std::atomic<bool> sampling{true};
  long peak_rss = 0;
  std::thread sampler([&] {
    while (sampling) {
      peak_rss = std::max(peak_rss, ReadProc(pid).vm_rss_kib);
      std::this_thread::sleep_for(100ms);
    }
  });
  auto phases_by_name =
      env.RunBatch(kube::resources::VolumeBackup(), objects, ctx.BatchDeadline(400s));
  const double total = Seconds(SteadyClock::now() - start);
  const int64_t to_us = NowMicros();
  sampling = false;
  sampler.join();
  ProcStats after = ReadProc(pid);
  Json phases = Json::object();
  for (const auto& [n, p] : phases_by_name) phases[p] = phases.value(p, 0) + 1;
  std::string log = testing::ReadFile(env.manager_log());
  size_t error_lines = 0;
  for (size_t at = log.find("level=error"); at != std::string::npos;
       at = log.find("level=error", at + 1)) {
    ++error_lines;
  }
  const Json writes_by_cause = StatusWritesByCause(env.ManagerMetrics(), ctx.scale);
  env.StopManager();
  const Json manager_view = env.ManagerPauseView(names);
  Json check = env.SimulatorCheck();
  if (!ctx.keep_logs.empty()) env.KeepLogs(ctx.keep_logs + "/" + name);
  Audit audit(env);
  Json requests = audit.ManagerRequests(from_us, to_us);
  Json per_vb = PerVolumeBackup(requests, ctx.scale);
  Json hops = BackupHops(audit, env.names(), names);
  std::set<std::string> members;
  for (const auto& n : names) members.insert("fed-" + n);

  Json result = Header(
      ctx, name,
      std::to_string(data_planes) + " data planes x concurrent VolumeBackups created at once");
  result["load_average_at_start"] = load_at_start;
  result["config"] = ctx.Config(data_planes, ctx.scale, ctx.scale);
  result["config"]["manager_kube_client_qps"] = ctx.scale_qps;
  if (!ctx.scale_speed.empty()) {
    result["config"]["simulator"] = "--speed " + ctx.scale_speed +
                                    " (TiDB Operator's step durations divided by it), 1 TiKV "
                                    "store x 1 volume per data plane";
  }
  result["results"] = {
      {"phases", phases},
      {"all_complete", phases.value("Complete", 0) == ctx.scale},
      {"total_seconds", std::round(total * 1000) / 1000},
      {"manager_requests_per_volume_backup", per_vb},
      {"manager_requests_total", requests["total"]},
      {"manager_request_error_codes", requests["error_codes"]},
      {"manager_request_conflicts", requests["conflicts"]},
      {"manager_error_log_lines", error_lines},
      {"manager_cpu_seconds", std::round((after.cpu_seconds - before.cpu_seconds) * 100) / 100},
      {"manager_peak_rss_mib", std::round(std::max(after.vm_hwm_kib, peak_rss) / 1024.0 * 10) / 10},
      {"hops", hops["hops"]},
      {"unmatched_hops", hops["unmatched_hops"]},
      {"gc_pause", Stats(audit.PauseLengths(members))},
      {"pause_and_cost",
       PauseAndCost(audit, env.names(), names, manager_view, requests,
                    std::round(std::max(after.vm_hwm_kib, peak_rss) / 1024.0 * 10) / 10)},
      {"status_writes_per_volume_backup_by_cause", writes_by_cause},
      {"simulator_check", check}};
  result["target"] = {{"all_complete", true}, {"errors", 0}, {"manager_peak_rss_mib", 64}};
  result["go_original"] = {
      {"label", kImplied},
      {"basis",
       "each resync re-runs every running VolumeBackup with one GET per data plane through a "
       "5-QPS client per data plane (upstream-features.md 4.1.3): 200 backups x 10 data planes "
       "= 200 GETs per data plane per pass, 40 s at 5 QPS, longer than the 30 s resync; and "
       "every backup needs >= 3 resync-bound hops"},
      {"min_total_seconds_implied", 90}};
  Write(ctx, result);
}

// The sum of one series over the label sets that contain `label`, in Prometheus text.
double SeriesSumWith(const std::string& metrics, const std::string& name,
                     const std::string& label) {
  double sum = 0;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0 || line.find(label) == std::string::npos) continue;
    sum += std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A stored object as a body to create again: without the metadata the server sets.
Json WithoutServerMetadata(Json object) {
  for (const char* field :
       {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"}) {
    object["metadata"].erase(field);
  }
  return object;
}

// Creates `object`; when the server dropped its status (a status subresource), writes the
// status there. Returns the created object's uid.
std::string CreateWithStatus(kube::Client& client, const kube::Resource& resource,
                             const std::string& ns, const Json& object) {
  auto created = client.Create(resource, ns, object);
  if (!created.ok()) Die("create: " + created.status().ToString());
  const Json* status = JsonAt(object, {"status"});
  const Json* kept = JsonAt(*created, {"status"});
  if (status != nullptr && (kept == nullptr || *kept != *status)) {
    auto patched = client.Patch(resource, ns, JsonStringAt(object, {"metadata", "name"}),
                                kube::PatchType::kMerge, Json{{"status", *status}}, "status");
    if (!patched.ok()) Die("status: " + patched.status().ToString());
  }
  return JsonStringAt(*created, {"metadata", "uid"});
}

// Issue 16: `count` finished VolumeBackups (with their members, finished too) in the control
// plane and 10 data planes; the manager is started over them several times. One real backup
// run by the simulator gives the objects' shape; the others are copies of it under new names
// (and owner uids), written straight to the API servers with the simulator stopped.
void FinishedScenario(const Context& ctx) {
  const int data_planes = 10;
  const std::string name = "finished_10dp_" + std::to_string(ctx.finished) + ctx.Suffix();
  std::cerr << "fed_bench: " << name << "\n";
  const Json load_at_start = LoadAverage();
  Env env(data_planes, ctx.env);
  env.StartServers();
  env.StartSimulator();
  env.StartManager("manager-template");
  const std::string tmpl = "fintemplate";
  if (env.RunBatch(kube::resources::VolumeBackup(), {env.VolumeBackup(tmpl)}, 120s)[tmpl] !=
      "Complete") {
    Die("the template backup did not complete: " + testing::ReadFile(env.manager_log()));
  }
  env.StopManager();
  env.StopSimulator();
  kube::Client& cp = env.control_plane_client();
  auto vb = cp.Get(kube::resources::VolumeBackup(), kNs, tmpl);
  if (!vb.ok()) Die(vb.status().ToString());
  const std::string tmpl_uid = JsonStringAt(*vb, {"metadata", "uid"});
  const std::string vb_text = DumpJson(WithoutServerMetadata(*vb));
  std::vector<std::string> member_texts;
  for (const auto& c : env.data_plane_clients()) {
    auto m = c->Get(kube::resources::Backup(), kTcNs, "fed-" + tmpl);
    if (!m.ok()) Die("template member: " + m.status().ToString());
    member_texts.push_back(DumpJson(WithoutServerMetadata(*m)));
  }

  auto load_start = SteadyClock::now();
  std::vector<std::pair<std::string, std::string>> copies;  // name, uid
  for (int i = 1; i < ctx.finished; ++i) {
    char copy_name[32];
    std::snprintf(copy_name, sizeof copy_name, "fin-%05d", i);
    auto body = ParseJson(ReplaceAll(vb_text, tmpl, copy_name));
    if (!body.ok()) Die(body.status().ToString());
    copies.emplace_back(copy_name,
                        CreateWithStatus(cp, kube::resources::VolumeBackup(), kNs, *body));
  }
  std::vector<std::thread> loaders;  // one per data plane
  std::vector<std::string> load_errors(member_texts.size());
  for (size_t d = 0; d < member_texts.size(); ++d) {
    loaders.emplace_back([&, d] {
      try {
        for (const auto& [copy_name, uid] : copies) {
          auto body =
              ParseJson(ReplaceAll(ReplaceAll(member_texts[d], tmpl, copy_name), tmpl_uid, uid));
          if (!body.ok()) Die(body.status().ToString());
          CreateWithStatus(*env.data_plane_clients()[d], kube::resources::Backup(), kTcNs, *body);
        }
      } catch (const Fatal& e) {
        load_errors[d] = e.what();
      }
    });
  }
  for (auto& t : loaders) t.join();
  for (const auto& e : load_errors) {
    if (!e.empty()) Die("loading members: " + e);
  }
  const double load_seconds = Seconds(SteadyClock::now() - load_start);

  // Start to ready (/readyz), and start to the first full reconcile: every VolumeBackup
  // reconciled at least once and the controller's queue empty and idle.
  const std::string controller = "controller=\"volumeBackup\"";
  std::vector<double> ready_ms, reconciled_ms;
  const int64_t from_us = NowMicros();
  for (int run = 0; run < 5; ++run) {
    env.StopManager();
    ready_ms.push_back(env.StartManager("manager-" + std::to_string(run)) * 1000.0);
    for (;;) {
      const std::string m = env.ManagerMetrics();
      if (SeriesSumWith(m, "controller_runtime_reconcile_total", controller) >= ctx.finished &&
          SeriesSumWith(m, "workqueue_depth", "name=\"volumeBackup\"") == 0 &&
          SeriesSumWith(m, "controller_runtime_active_workers", controller) == 0) {
        break;
      }
      if (SteadyClock::now() - env.manager_started() >
          (Env::ManagerWrapper().empty() ? 300s : 1800s)) {
        Die("no full reconcile in time");
      }
      std::this_thread::sleep_for(2ms);
    }
    reconciled_ms.push_back(Seconds(SteadyClock::now() - env.manager_started()) * 1000.0);
  }
  const double rss_mib = env.ManagerPeakRssMib();
  const int64_t to_us = NowMicros();
  env.StopManager();
  if (!ctx.keep_logs.empty()) env.KeepLogs(ctx.keep_logs + "/" + name);
  Audit audit(env);
  Json requests = audit.ManagerRequests(from_us, to_us);

  Json result = Header(ctx, name,
                       "br-federation-manager started over finished VolumeBackups (members "
                       "finished too), 10 data planes: exec -> first 200 from /readyz, exec -> "
                       "every VolumeBackup reconciled once with the queue empty; and what those "
                       "reconciles wrote");
  result["load_average_at_start"] = load_at_start;
  result["config"] = ctx.Config(data_planes, ctx.finished, 0);
  result["config"]["runs"] = ready_ms.size();
  result["config"]["members"] = ctx.finished * data_planes;
  result["results"] = {{"load_seconds", std::round(load_seconds * 1000) / 1000},
                       {"start_to_ready", Stats(ready_ms)},
                       {"start_to_first_full_reconcile", Stats(reconciled_ms)},
                       {"manager_writes", requests["writes"]},
                       {"manager_requests_by_verb", requests["by_verb"]},
                       {"manager_peak_rss_mib", rss_mib}};
  result["target"] = {{"start_to_first_full_reconcile_ms", 1000}, {"manager_writes", 0}};
  result["go_original"] = {{"label", kImplied}, {"basis", "not comparable: no published figure"}};
  Write(ctx, result);
}

// ---- failure_release (issue 18, finding 2): the pause from a member's failure to its release --

// One fault case: a simulator fault on one member of each of its VolumeBackups, and which of
// that member's conditions marks the failure.
struct FailureCase {
  std::string id;         // in the VolumeBackup names
  std::string fault;      // simulator fault kind (docs/sim.md)
  size_t cluster;         // index of the data plane it is injected on (0: the initialize member's)
  std::string condition;  // that member's condition whose write is the failure instant; "": the
                          // failure is the pause budget running out (kFailureBudget)
  std::string what;
};

// The pause budget of the hang case's VolumeBackups (annotation), and the init-job deadline of
// every VolumeBackup here: a release that only the deadline gives shows within the run (as
// `init job deadline exceeded`) instead of stalling it for the default 600 s.
const char kFailureBudget[] = "15s";
constexpr int64_t kFailureBudgetMicros = 15'000'000;
constexpr int kFailureInitDeadlineSeconds = 120;

std::vector<FailureCase> FailureCases(size_t data_planes) {
  const size_t last = data_planes - 1;
  return {{"pod", "execute-pod-dies", last, "VolumeBackupFailed",
           "a non-initialize member's execute job fails (VolumeBackupFailed / AlreadyFailed)"},
          {"snap", "snapshot-fail", 1, "VolumeBackupFailed",
           "a non-initialize member's snapshots fail (VolumeBackupFailed)"},
          {"inv", "invalid", 1, "Invalid", "a non-initialize member is Invalid at creation"},
          {"hang", "hang", 1, "",
           "a non-initialize member hangs; the pause budget (" + std::string(kFailureBudget) +
               ", annotation) fails the backup (PauseBudgetExceeded)"},
          {"init", "snapshot-fail", 0, "VolumeBackupFailed",
           "the initialize member's own snapshots fail (VolumeBackupFailed)"}};
}

// A simulator timing the cases run under (each in an environment of its own).
struct FailureTiming {
  std::string tag;  // in the VolumeBackup names and the result
  std::vector<std::string> simulator;
  std::string why;
};

std::vector<FailureTiming> FailureTimings(const std::string& speed) {
  return {{"default_volumes",
           {"--speed", speed, "--volume-size", "100Gi"},
           "the simulator's default 100 GiB volumes: the initialize member's execute job ends "
           "about 5 s after it starts, inside the manager's 10 s stop grace"},
          {"large_volumes",
           {"--speed", speed, "--volume-size", "4Ti"},
           "4 TiB volumes: snapshots take 3 s + 10 ms per GiB = 44 s, so the initialize "
           "member's execute job outlives the 10 s stop grace, as real EBS snapshots (minutes) "
           "do"}};
}

std::string FailureName(const FailureTiming& t, const FailureCase& c, int round) {
  return std::string(t.tag == "default_volumes" ? "frd-" : "frl-") + c.id + "-" +
         std::to_string(round);
}

// Whether the simulator still holds a pause for any of the members `fed-<name>`.
bool AnyPauseHeld(const Env& env, const std::vector<std::string>& names) {
  auto r = env.sim_admin().Request("GET", "/state");
  auto state = ParseJson(r.body);
  if (r.status != 200 || !state.ok()) return true;
  const Json* holders = JsonAt(*state, {"pd", "holders"});
  for (const Json& h : holders != nullptr && holders->is_array() ? *holders : Json::array()) {
    for (const auto& n : names) {
      if (h.is_string() && h.get<std::string>().find("/fed-" + n + "/") != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

// One round: a VolumeBackup per case with its fault injected, created at once; waits until each
// is terminal and its pause released. Adds name -> phase to `phases`.
void RunFailureRound(Env& env, const FailureTiming& timing, const std::vector<FailureCase>& cases,
                     int round, std::map<std::string, std::string>& phases) {
  std::vector<Json> objects;
  std::vector<std::string> names;
  for (const auto& c : cases) {
    names.push_back(FailureName(timing, c, round));
    const std::string spec = c.fault + "@" + env.names()[c.cluster] + "/fed-" + names.back();
    auto r = env.sim_admin().Request("POST", "/faults", Json{{"fault", spec}}.dump());
    if (r.status != 201) Die("fault " + spec + ": " + r.body);
    Json vb = env.VolumeBackup(names.back());
    vb["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = kFailureInitDeadlineSeconds;
    if (c.condition.empty()) {
      vb["metadata"]["annotations"] = {
          {std::string(api::kGcPauseBudgetAnnotation), kFailureBudget}};
    }
    objects.push_back(std::move(vb));
  }
  const auto deadline = std::chrono::seconds(kFailureInitDeadlineSeconds + 60);
  for (const auto& [n, p] : env.RunBatch(kube::resources::VolumeBackup(), objects, deadline)) {
    phases[n] = p;
  }
  if (!WaitFor([&] { return !AnyPauseHeld(env, names); }, deadline)) {
    std::cerr << "fed_bench: round " << round << ": a pause still held after " << deadline.count()
              << " s\n";
  }
}

// The figures of one case over its VolumeBackups, from the audit logs (bench/README.md).
Json FailureCaseFigures(const Audit& audit, const std::vector<std::string>& clusters,
                        const FailureCase& c, const std::vector<std::string>& backups,
                        const std::map<std::string, std::string>& phases) {
  std::vector<double> to_release, to_teardown, to_delete;
  Json why = Json::object();
  Json phase_counts = Json::object();
  int unmatched = 0, deleted = 0, init_deleted = 0, running = 0, late_snapshots = 0;
  const std::vector<std::string> init = {clusters.front()};
  for (const auto& vb : backups) {
    const std::string member = "fed-" + vb;
    const std::string phase = phases.count(vb) ? phases.at(vb) : "";
    phase_counts[phase] = phase_counts.value(phase, 0) + 1;
    const int64_t initialized = audit.ConditionWrite(init[0], member, "VolumeBackupInitialized");
    const int64_t failure = c.condition.empty()
                                ? (initialized < 0 ? -1 : initialized + kFailureBudgetMicros)
                                : audit.ConditionWrite(clusters[c.cluster], member, c.condition);
    if (failure < 0) {
      ++unmatched;
      continue;
    }
    // The initialize member's execute job ran at the failure: it had been sent execute and had
    // not reported VolumeBackupComplete (its job's last stage) - unless it is the one failing.
    const int64_t execute =
        initialized < 0 ? -1 : audit.NextManagerWrite(init, member, initialized, "patch");
    const int64_t done = audit.ConditionWrite(init[0], member, "VolumeBackupComplete");
    if (c.cluster != 0 && execute >= 0 && execute <= failure && (done < 0 || done > failure)) {
      ++running;
    }
    if (auto release = audit.ReleaseOf(member)) {
      to_release.push_back((release->us - failure) / 1000.0);
      why[release->why] = why.value(release->why, 0) + 1;
      late_snapshots += audit.SnapshotsStartedAfter(member, release->us);
    } else {
      why["not released"] = why.value("not released", 0) + 1;
    }
    if (int64_t t = audit.NextManagerWrite(init, member, failure, "patch"); t >= 0) {
      to_teardown.push_back((t - failure) / 1000.0);
    }
    if (int64_t t = audit.NextManagerWrite(clusters, member, failure, "delete"); t >= 0) {
      to_delete.push_back((t - failure) / 1000.0);
    }
    for (const auto& cluster : clusters) {
      if (audit.NextManagerWrite({cluster}, member, failure, "delete") >= 0) ++deleted;
    }
    if (audit.NextManagerWrite(init, member, failure, "delete") >= 0) ++init_deleted;
  }
  return {{"case", c.id},
          {"fault", c.fault + "@" + clusters[c.cluster] + "/fed-<name>"},
          {"what", c.what},
          {"failure_instant", c.condition.empty()
                                  ? "init member's VolumeBackupInitialized write + the budget"
                                  : "the faulted member's " + c.condition + " write"},
          {"volume_backups", backups.size()},
          {"phases", phase_counts},
          {"failure_to_release", Stats(to_release)},
          {"failure_to_teardown_patch", Stats(to_teardown)},
          {"failure_to_member_delete", Stats(to_delete)},
          {"members_deleted", deleted},
          {"init_member_deleted", init_deleted},
          {"init_execute_running_at_failure", running},
          {"release_why", why},
          {"snapshots_after_release", late_snapshots},
          {"unmatched", unmatched}};
}

// The cases under one simulator timing, in an environment of their own.
Json FailureReleaseTiming(const Context& ctx, int data_planes, const FailureTiming& timing) {
  std::cerr << "fed_bench: failure_release, " << timing.tag << "\n";
  const Json load_at_start = LoadAverage();
  EnvOptions options = ctx.env;
  options.simulator_timing = timing.simulator;
  Env env(data_planes, options);
  env.StartServers();
  env.StartSimulator();
  env.StartManager("manager-" + timing.tag);
  const std::vector<FailureCase> cases = FailureCases(env.names().size());
  std::map<std::string, std::string> phases;
  const auto start = SteadyClock::now();
  for (int round = 0; round < ctx.failure_rounds; ++round) {
    RunFailureRound(env, timing, cases, round, phases);
  }
  const double wall = Seconds(SteadyClock::now() - start);
  env.StopManager();
  Json check = env.SimulatorCheck();
  if (!ctx.keep_logs.empty()) env.KeepLogs(ctx.keep_logs + "/failure_release_" + timing.tag);
  Audit audit(env);
  Json figures = Json::array();
  for (const auto& c : cases) {
    std::vector<std::string> backups;
    for (int round = 0; round < ctx.failure_rounds; ++round) {
      backups.push_back(FailureName(timing, c, round));
    }
    figures.push_back(FailureCaseFigures(audit, env.names(), c, backups, phases));
  }
  std::string flags;
  for (const auto& f : timing.simulator) flags += (flags.empty() ? "" : " ") + f;
  return {{"timing", timing.tag},
          {"simulator", flags + ", 1 TiKV store x 1 volume per data plane"},
          {"why", timing.why},
          {"wall_seconds", std::round(wall * 1000) / 1000},
          {"load_average_at_start", load_at_start},
          {"load_average_at_end", LoadAverage()},
          {"cases", figures},
          {"simulator_check", check}};
}

void FailureReleaseScenario(const Context& ctx) {
  const int data_planes = ctx.failure_data_planes;
  const std::string name = "failure_release_" + std::to_string(data_planes) + "dp" + ctx.Suffix();
  std::cerr << "fed_bench: " << name << "\n";
  Json result = Header(ctx, name,
                       "GC pause held after a backup fails: a simulator fault on one member, "
                       "then failure -> release (the simulator's pd_resume) and the manager's "
                       "reacting writes, from the audit logs");
  Json timings = Json::array();
  for (const auto& t : FailureTimings(ctx.failure_speed)) {
    timings.push_back(FailureReleaseTiming(ctx, data_planes, t));
  }
  result["config"] = ctx.Config(data_planes, ctx.failure_rounds * 5, 5);
  result["config"]["simulator"] = "--speed " + ctx.failure_speed + " (see results.timings)";
  result["config"]["rounds"] = ctx.failure_rounds;
  result["config"]["init_job_deadline_seconds"] = kFailureInitDeadlineSeconds;
  result["config"]["hang_case_pause_budget"] = kFailureBudget;
  result["config"]["manager"] = "defaults: --gc-pause-budget 5m, stop_after_failure_grace 10 s";
  result["results"] = {
      {"timings", timings},
      {"release_why_meaning",
       {{"resumeGcSchedule",
         "teardown with resumeGcSchedule to an initialize member that had "
         "its snapshots: released at its next pass"},
        {"teardown",
         "the initialize member's teardown, once its execute job had ended (or "
         "never started)"},
        {"owner deleted",
         "the manager's foreground deletion of the initialize member (its "
         "init job goes with it)"},
        {"volume backup failed", "the initialize member failed itself and deleted its init job"},
        {"member failed", "the initialize member reached Failed and deleted its init job"},
        {"init job deadline exceeded", "the init job's activeDeadlineSeconds"}}}};
  result["target"] = {
      {"note",
       "issue 18 sets no figure; the design bound after a member failure is the 10 s "
       "stop grace plus one reaction"}};
  result["go_original"] = {
      {"label", kImplied},
      {"basis",
       "upstream's manager sends teardown with resumeGcSchedule after a failure (after a 30 s "
       "resync-bound hop) and never deletes the initialize member, so a real initialize "
       "member whose execute job still runs holds the pause until that job ends or the init "
       "job's deadline (volumeBackupInitJobMaxActiveSeconds, 600 s by default; issue 18 "
       "finding 2, upstream #5583; docs/sim.md)"},
      {"failure_to_release_max_ms", 600000}};
  Write(ctx, result);
}

// ---- idle_pause (issue 16): backups one at a time, long apart, as a schedule's come ------------
// On EKS the manager reaches each data plane with a token from `aws eks get-token` (an exec
// credential plugin; 0.33 s a run, offline, on this machine) that lasts 15 minutes, and API
// servers and load balancers close idle connections. A client used only by backups finds both
// gone at every backup, inside the pause. Here the plugin is the harness's (--exec-plugin-seconds
// a run, tokens lasting --credential-lifetime-seconds) and each backup starts
// --idle-gap-seconds after the last one ended, so that a request-path refresh would be due.

// Runs ctx.idle_backups VolumeBackups one at a time, each after the idle gap; returns their
// names and adds their phases to `phases`.
std::vector<std::string> RunIdleBackups(const Context& ctx, Env& env, Json& phases) {
  std::vector<std::string> names;
  for (int i = 0; i < ctx.idle_backups; ++i) {
    // The idle time is what this scenario is about: a sleep, not a wait for an event.
    std::this_thread::sleep_for(std::chrono::seconds(ctx.idle_gap_seconds));
    names.push_back("idle-" + std::to_string(i));
    for (const auto& [n, p] :
         env.RunBatch(kube::resources::VolumeBackup(), {env.VolumeBackup(names.back())},
                      ctx.BatchDeadline(60s))) {
      phases[p] = phases.value(p, 0) + 1;
    }
  }
  return names;
}

void IdlePauseScenario(const Context& ctx) {
  const int data_planes = 3;
  const std::string name = "idle_pause_" + std::to_string(data_planes) + "dp" + ctx.Suffix();
  std::cerr << "fed_bench: " << name << "\n";
  Json result = Header(ctx, name,
                       "GC pause of VolumeBackups that come one at a time after an idle gap, "
                       "with the data planes' credentials from an exec plugin");
  EnvOptions options = ctx.env;
  options.exec_plugin =
      testing::ExecPluginOptions{ctx.exec_plugin_seconds, ctx.credential_lifetime_seconds};
  Env env(data_planes, options);
  env.StartServers();
  env.StartSimulator();
  env.StartManager("manager");
  const int64_t from_us = NowMicros();
  Json phases = Json::object();
  const std::vector<std::string> names = RunIdleBackups(ctx, env, phases);
  const int64_t to_us = NowMicros();
  const double rss_mib = env.ManagerPeakRssMib();
  const std::string metrics = env.ManagerMetrics();
  env.StopManager();
  const Json manager_view = env.ManagerPauseView(names);
  Json check = env.SimulatorCheck();
  int exec_plugin_runs = 0;
  for (const auto& [cluster, runs] : testing::ExecPluginRuns(env.ExecPluginRunsLog())) {
    exec_plugin_runs += runs;
  }
  if (!ctx.keep_logs.empty()) env.KeepLogs(ctx.keep_logs + "/" + name);
  Audit audit(env);

  result["config"] = ctx.Config(data_planes, ctx.idle_backups, 1);
  result["config"]["idle_gap_seconds"] = ctx.idle_gap_seconds;
  result["config"]["exec_plugin_run_seconds"] = ctx.exec_plugin_seconds;
  result["config"]["credential_lifetime_seconds"] = ctx.credential_lifetime_seconds;
  Json hops = BackupHops(audit, env.names(), names);
  Json requests = audit.ManagerRequests(from_us, to_us);
  const bool counts_connections =
      metrics.find("rest_client_connections_opened_total") != std::string::npos;
  result["results"] = {
      {"phases", phases},
      {"hops", hops["hops"]},
      {"unmatched_hops", hops["unmatched_hops"]},
      {"pause_and_cost", PauseAndCost(audit, env.names(), names, manager_view, requests, rss_mib)},
      {"exec_plugin_runs", exec_plugin_runs},
      {"connections_opened",
       counts_connections
           ? Json(SeriesSumWith(metrics, "rest_client_connections_opened_total", "cluster=\"dp"))
           : Json()},
      {"simulator_check", check}};
  result["target"] = {{"hop_p99_ms", 20}};
  result["go_original"] = GoHops(kBackupHopNames);
  Write(ctx, result);
}

// A command-line value that must be a finite number from `lo` to `hi` (nan and inf are not).
CLI::Validator FiniteNumberIn(double lo, double hi, const std::string& what) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        const bool ok = !v.empty() && *end == '\0' && std::isfinite(x) && x >= lo && x <= hi;
        std::ostringstream want;
        want << "want a number from " << lo << " to " << hi << ", got " << v;
        return ok ? "" : want.str();
      },
      what);
}

}  // namespace
}  // namespace brfed::bench

int main(int argc, char** argv) {
  using namespace brfed::bench;
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"fed_bench: end-to-end benchmarks of br-federation-manager"};
  Context ctx;
  std::vector<std::string> scenarios;
  app.add_option("--out", ctx.out_dir, "folder for <scenario>.json")->required();
  app.add_option("--commit", ctx.commit, "git commit recorded in the results");
  app.add_option("--scenario", scenarios,
                 "hop_latency_1dp, hop_latency_3dp (with restore_3dp), hop_latency_10dp (with "
                 "gc_pause_10dp), scale_10dp (with startup_10dp; --scale-data-planes), "
                 "finished_10dp, failure_release (only when named; --failure-data-planes), "
                 "idle_pause (only when named); default all but those two");
  app.add_option("--backups", ctx.backups, "VolumeBackups per hop-latency scenario")
      ->check(CLI::Range(1, 100000));
  app.add_option("--batch", ctx.batch, "concurrent VolumeBackups per batch")
      ->check(CLI::Range(1, 10000));
  app.add_option("--restores", ctx.restores, "VolumeRestores (sequential)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--scale", ctx.scale, "concurrent VolumeBackups in the scale scenario")
      ->check(CLI::Range(1, 100000));
  app.add_option("--scale-qps", ctx.scale_qps,
                 "the manager's --kube-client-qps (burst: twice) in the scale scenario")
      ->check(CLI::Range(1, 100000));
  app.add_option("--finished", ctx.finished,
                 "finished VolumeBackups in the finished_10dp scenario (the first is run by the "
                 "simulator, the others are copies of it)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--scale-speed", ctx.scale_speed,
                 "run the scale scenario with tidb-operator-sim --speed S instead of "
                 "--zero-latency (result name scale_..._speedS): a data plane's steps then come "
                 "apart as TiDB Operator's do, only S times sooner")
      ->check(FiniteNumberIn(0.001, 1000000, "SPEED"));
  app.add_option("--scale-data-planes", ctx.scale_data_planes,
                 "data planes in the scale scenario (result name scale_<N>dp_<M>)")
      ->check(CLI::Range(1, 50));
  app.add_option("--failure-rounds", ctx.failure_rounds,
                 "failure_release: VolumeBackups per fault case and simulator timing (one of "
                 "each case per round, created at once)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--failure-data-planes", ctx.failure_data_planes,
                 "failure_release: data planes (result name failure_release_<N>dp)")
      ->check(CLI::Range(2, 50));
  app.add_option("--failure-speed", ctx.failure_speed,
                 "failure_release: the simulator's --speed (its delays are divided by it)")
      // The simulator's own range (docs/sim.md).
      ->check(FiniteNumberIn(0.001, 1000000, "SPEED"));
  app.add_option("--idle-backups", ctx.idle_backups,
                 "idle_pause: VolumeBackups, one at a time, each after --idle-gap-seconds")
      ->check(CLI::Range(1, 1000));
  app.add_option("--idle-gap-seconds", ctx.idle_gap_seconds,
                 "idle_pause: idle seconds before each VolumeBackup")
      ->check(CLI::Range(0, 86400));
  app.add_option("--exec-plugin-seconds", ctx.exec_plugin_seconds,
                 "idle_pause: how long one run of the exec credential plugin takes (default: "
                 "what aws-cli 1.46 `aws eks get-token` took here)")
      ->check(FiniteNumberIn(0, 60, "SECONDS"));
  app.add_option("--credential-lifetime-seconds", ctx.credential_lifetime_seconds,
                 "idle_pause: how long the plugin's tokens last (a request refreshes one 60 s "
                 "before it expires)")
      ->check(CLI::Range(61, 86400));
  app.add_option("--keep-logs", ctx.keep_logs, "copy every process log and audit log here");
  std::string backend = "brfed-apiserver";
  app.add_option("--backend", backend,
                 "brfed-apiserver (default) or kube (a real kube-apiserver through "
                 "brfed-kube-testenv, as BRFED_TEST_APISERVER=kube; result names get _kube)");
  app.add_flag("--imitate-resync", ctx.env.imitate_resync,
               "run the simulator with --imitate-resync (TiDB Operator's own 30 s waits); "
               "result names get _resync");
  app.add_option("--snapshot-seconds", ctx.env.snapshot_seconds,
                 "run the simulator with --snapshot-seconds S: its steps stay at zero latency, "
                 "but the snapshots complete, and their size is calculated, S s later each, "
                 "after the pause as in production instead of inside it; result names get "
                 "_snapS")
      ->check(FiniteNumberIn(0, 86400, "SECONDS"));
  app.add_option("--bin-dir", ctx.env.bin_dir,
                 "build folder whose src/manager/br-federation-manager, "
                 "src/sim/tidb-operator-sim and (with the brfed-apiserver backend) "
                 "src/apiserver/brfed-apiserver run (default: this build; e.g. an older "
                 "commit's)")
      ->check(CLI::ExistingDirectory);
  CLI11_PARSE(app, argc, argv);
  auto parsed = brfed::testing::ParseBackend(backend);
  if (!parsed.ok()) {
    std::cerr << "fed_bench: --backend " << backend << ": want brfed-apiserver or kube\n";
    return 2;
  }
  ctx.env.backend = *parsed;
  std::filesystem::create_directories(ctx.out_dir);
  const std::set<std::string> known = {"hop_latency_1dp", "hop_latency_3dp", "hop_latency_10dp",
                                       "scale_10dp",      "finished_10dp",   "failure_release",
                                       "idle_pause"};
  if (scenarios.empty()) {
    // failure_release takes about 10 minutes at --speed 1, idle_pause is mostly waiting: only
    // when named.
    std::copy_if(known.begin(), known.end(), std::back_inserter(scenarios),
                 [](const std::string& s) { return s != "failure_release" && s != "idle_pause"; });
  }
  for (const auto& s : scenarios) {
    if (!known.count(s)) {
      std::cerr << "fed_bench: unknown scenario " << s << "\n";
      return 2;
    }
  }
  auto want = [&](const std::string& s) {
    return std::find(scenarios.begin(), scenarios.end(), s) != scenarios.end();
  };
  try {
    if (want("hop_latency_1dp")) HopScenario(ctx, 1, false, false);
    if (want("hop_latency_3dp")) HopScenario(ctx, 3, true, false);
    if (want("hop_latency_10dp")) HopScenario(ctx, 10, false, true);
    if (want("scale_10dp")) ScaleScenario(ctx);
    if (want("finished_10dp")) FinishedScenario(ctx);
    if (want("failure_release")) FailureReleaseScenario(ctx);
    if (want("idle_pause")) IdlePauseScenario(ctx);
  } catch (const Fatal& e) {
    std::cerr << "fed_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
