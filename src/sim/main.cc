// tidb-operator-sim: a simulation of TiDB Operator's federal volume-snapshot behaviour over one
// shared simulated TiDB cluster (see docs/sim.md). `tidb-operator-sim check --audit-log PATH`
// verifies an audit log's invariants.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/command_line.h"
#include "core/files.h"
#include "core/log.h"
#include "core/version.h"
#include "kube/client.h"
#include "sim/audit.h"
#include "sim/simulator.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "tidb-operator-sim: %s\n", message.c_str());
  return 2;
}

int RunCheck(const std::string& path) {
  brfed::Result<std::string> text = brfed::ReadFile(path);
  if (!text.ok()) return Fail("cannot read audit log " + path);
  std::vector<std::string> violations = brfed::sim::CheckAuditLog(*text);
  for (const std::string& v : violations) std::printf("VIOLATION %s\n", v.c_str());
  if (violations.empty()) {
    std::printf("ok: no violations in %s\n", path.c_str());
    return 0;
  }
  std::printf("%zu violation(s)\n", violations.size());
  return 1;
}

// The flags of a simulator run, as given.
struct SimFlags {
  std::vector<std::string> clusters;
  std::string topology_file;
  brfed::sim::ClusterTopology defaults;
  std::string volume_size = "100Gi";
  double speed = 1.0;
  bool zero_latency = false;
  bool imitate_resync = false;
  std::optional<double> snapshot_seconds;
  std::vector<std::string> faults;
  std::string audit_log;
  std::string admin_addr;
  std::string log_level = "info";
  std::string log_format = "text";
};

void AddSimFlags(CLI::App& app, SimFlags* f) {
  app.add_option("--cluster", f->clusters,
                 "NAME=KUBECONFIG[:CONTEXT], one per Kubernetes cluster (repeatable)");
  app.add_option("--topology", f->topology_file,
                 "YAML/JSON file: {clusters: [{name, tcNamespace, tcName, tikvStores, "
                 "volumesPerStore, volumeSize}]}; overrides the topology flags");
  app.add_option("--tc-namespace", f->defaults.tc_namespace, "TidbCluster namespace")
      ->capture_default_str();
  app.add_option("--tc-name", f->defaults.tc_name, "TidbCluster name")->capture_default_str();
  app.add_option("--tikv-per-cluster", f->defaults.tikv_stores,
                 "TiKV stores per Kubernetes cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--volumes-per-store", f->defaults.volumes_per_store,
                 "EBS volumes per TiKV store (data plus raft/wal)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--volume-size", f->volume_size, "size of each volume (e.g. 100Gi, 2Ti)")
      ->capture_default_str();
  app.add_option("--speed", f->speed, "run every simulated delay this many times faster")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  app.add_flag("--zero-latency", f->zero_latency, "no simulated delays at all (benchmarks)");
  app.add_flag("--imitate-resync", f->imitate_resync,
               "notice ended jobs and Up stores only at TiDB Operator's 30 s resync (scaled)");
  app.add_option("--snapshot-seconds", f->snapshot_seconds,
                 "every EBS snapshot completes this many real seconds after the backupmeta, and "
                 "the size calculation takes as long, whatever --speed or --zero-latency say "
                 "(benchmarks: both end after the GC pause, as they do in production)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--fault", f->faults,
                 "inject a fault: KIND[@CLUSTER][/NAME][,factor=F][,after-meta] (repeatable)");
  app.add_option("--audit-log", f->audit_log, "append audit events (JSON lines) to this file");
  app.add_option(
      "--admin-addr", f->admin_addr,
      "HOST:PORT of the admin HTTP endpoint (POST/DELETE /faults, GET /state, /healthz)");
  app.add_option("--log-level", f->log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--log-format", f->log_format, "text or json")->capture_default_str();
}

// The topology: from --topology, or one cluster of the topology flags per --cluster.
brfed::Result<brfed::sim::Topology> TopologyFromFlags(
    const SimFlags& f, const std::vector<brfed::sim::ClusterEndpoint>& clusters) {
  using brfed::InvalidArgument;
  if (!f.topology_file.empty()) {
    brfed::Result<std::string> text = brfed::ReadFile(f.topology_file);
    if (!text.ok()) return InvalidArgument("cannot read --topology " + f.topology_file);
    auto topo = brfed::sim::ParseTopology(*text);
    if (!topo.ok()) return InvalidArgument(f.topology_file + ": " + topo.status().message());
    return *topo;
  }
  auto size = brfed::sim::ParseQuantity(f.volume_size);
  if (!size.ok() || *size <= 0) {
    return InvalidArgument("--volume-size: " +
                           (size.ok() ? std::string("must be positive") : size.status().message()));
  }
  brfed::sim::Topology topology;
  for (const auto& ep : clusters) {
    brfed::sim::ClusterTopology c = f.defaults;
    c.volume_size = *size;
    c.name = ep.name;
    topology.clusters.push_back(c);
  }
  return topology;
}

brfed::Result<brfed::sim::SimulatorOptions> OptionsFromFlags(const SimFlags& f) {
  using brfed::InvalidArgument;
  brfed::sim::SimulatorOptions options;
  if (f.clusters.empty()) {
    return InvalidArgument("at least one --cluster NAME=KUBECONFIG[:CONTEXT] is required");
  }
  for (const std::string& flag : f.clusters) {
    auto ep = brfed::sim::ParseClusterFlag(flag);
    if (!ep.ok()) return ep.status();
    for (const auto& other : options.clusters) {
      if (other.name == ep->name) return InvalidArgument("--cluster " + ep->name + " given twice");
    }
    options.clusters.push_back(*ep);
  }
  BRFED_ASSIGN_OR_RETURN(options.topology, TopologyFromFlags(f, options.clusters));
  for (const std::string& spec : f.faults) {
    auto fault = brfed::sim::ParseFault(spec);
    if (!fault.ok()) return InvalidArgument("--fault: " + fault.status().message());
    options.faults.push_back(*fault);
  }
  // CLI::Range lets NaN through (every comparison with it is false).
  if (std::isnan(f.speed)) return InvalidArgument("--speed: nan is not a number from 0.001 to 1e6");
  options.timing = brfed::sim::Timing::Scaled(f.speed, f.zero_latency, f.imitate_resync);
  if (f.snapshot_seconds) {
    if (std::isnan(*f.snapshot_seconds)) {
      return InvalidArgument("--snapshot-seconds: nan is not a number from 0 to 86400");
    }
    options.timing.SetSnapshotDuration(std::chrono::duration_cast<brfed::sim::Duration>(
        std::chrono::duration<double>(*f.snapshot_seconds)));
  }
  options.audit_log = f.audit_log;
  options.admin_addr = f.admin_addr;
  return options;
}

// Runs the simulator until SIGTERM or SIGINT.
int RunSimulator(brfed::sim::SimulatorOptions options) {
  // SIGTERM/SIGINT are taken by sigwait on the main thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  brfed::kube::GlobalInit();

  auto sim = brfed::sim::Simulator::Create(std::move(options));
  if (!sim.ok()) return Fail(sim.status().message());
  if (brfed::Status st = (*sim)->Start(); !st.ok()) {
    (*sim)->Stop();
    return Fail(st.message());
  }
  if ((*sim)->admin_port() > 0) {
    std::printf("admin-port %d\n", (*sim)->admin_port());
    std::fflush(stdout);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  brfed::log::Info("stopping", {{"signal", std::to_string(sig)}});
  (*sim)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tidb-operator-sim: TiDB Operator's federal volume-snapshot Backup/Restore "
      "behaviour over one simulated TiDB cluster spanning several Kubernetes clusters"};
  app.set_version_flag("--version", brfed::VersionLine("tidb-operator-sim"));
  SimFlags flags;
  AddSimFlags(app, &flags);
  CLI::App* check = app.add_subcommand("check", "verify the invariants of an audit log");
  std::string check_log;
  check->add_option("--audit-log", check_log, "the audit log to check")->required();

  if (std::optional<int> exit_code = brfed::ParseCommandLine(
          app, argc, argv,
          [](const CLI::ParseError& e) { return Fail(std::string(e.what()) + " (see --help)"); })) {
    return *exit_code;
  }
  if (*check) return RunCheck(check_log);

  auto level = brfed::log::ParseLevel(flags.log_level);
  auto format = brfed::log::ParseFormat(flags.log_format);
  if (!level.ok()) return Fail("--log-level: " + level.status().message());
  if (!format.ok()) return Fail("--log-format: " + format.status().message());
  brfed::log::Setup({*level, *format, "tidb-operator-sim"});
  brfed::Result<brfed::sim::SimulatorOptions> options = OptionsFromFlags(flags);
  if (!options.ok()) return Fail(options.status().message());
  return RunSimulator(std::move(options).value());
}
