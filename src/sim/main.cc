// tidb-operator-sim: a simulation of TiDB Operator's federal volume-snapshot behaviour over one
// shared simulated TiDB cluster (see docs/sim.md). `tidb-operator-sim check --audit-log PATH`
// verifies an audit log's invariants.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

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
  std::ifstream in(path);
  if (!in) return Fail("cannot read audit log " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> violations = brfed::sim::CheckAuditLog(text.str());
  for (const std::string& v : violations) std::printf("VIOLATION %s\n", v.c_str());
  if (violations.empty()) {
    std::printf("ok: no violations in %s\n", path.c_str());
    return 0;
  }
  std::printf("%zu violation(s)\n", violations.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using brfed::sim::ClusterTopology;
  CLI::App app{
      "tidb-operator-sim: TiDB Operator's federal volume-snapshot Backup/Restore "
      "behaviour over one simulated TiDB cluster spanning several Kubernetes clusters"};
  app.set_version_flag("--version", brfed::VersionLine("tidb-operator-sim"));
  std::vector<std::string> cluster_flags;
  std::string topology_file;
  ClusterTopology defaults;
  std::string volume_size = "100Gi";
  double speed = 1.0;
  bool zero_latency = false;
  bool imitate_resync = false;
  std::vector<std::string> fault_flags;
  std::string audit_log;
  std::string admin_addr;
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--cluster", cluster_flags,
                 "NAME=KUBECONFIG[:CONTEXT], one per Kubernetes cluster (repeatable)");
  app.add_option("--topology", topology_file,
                 "YAML/JSON file: {clusters: [{name, tcNamespace, tcName, tikvStores, "
                 "volumesPerStore, volumeSize}]}; overrides the topology flags");
  app.add_option("--tc-namespace", defaults.tc_namespace, "TidbCluster namespace")
      ->capture_default_str();
  app.add_option("--tc-name", defaults.tc_name, "TidbCluster name")->capture_default_str();
  app.add_option("--tikv-per-cluster", defaults.tikv_stores, "TiKV stores per Kubernetes cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--volumes-per-store", defaults.volumes_per_store,
                 "EBS volumes per TiKV store (data plus raft/wal)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--volume-size", volume_size, "size of each volume (e.g. 100Gi, 2Ti)")
      ->capture_default_str();
  app.add_option("--speed", speed, "run every simulated delay this many times faster")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  app.add_flag("--zero-latency", zero_latency, "no simulated delays at all (benchmarks)");
  app.add_flag("--imitate-resync", imitate_resync,
               "notice ended jobs and Up stores only at TiDB Operator's 30 s resync (scaled)");
  app.add_option("--fault", fault_flags,
                 "inject a fault: KIND[@CLUSTER][/NAME][,factor=F][,after-meta] (repeatable)");
  app.add_option("--audit-log", audit_log, "append audit events (JSON lines) to this file");
  app.add_option(
      "--admin-addr", admin_addr,
      "HOST:PORT of the admin HTTP endpoint (POST/DELETE /faults, GET /state, /healthz)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json")->capture_default_str();

  CLI::App* check = app.add_subcommand("check", "verify the invariants of an audit log");
  std::string check_log;
  check->add_option("--audit-log", check_log, "the audit log to check")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(std::string(e.what()) + " (see --help)");
  }
  // CLI::Range lets NaN through (every comparison with it is false).
  if (std::isnan(speed)) return Fail("--speed: nan is not a number from 0.001 to 1e6");
  if (*check) return RunCheck(check_log);

  auto level = brfed::log::ParseLevel(log_level);
  auto format = brfed::log::ParseFormat(log_format);
  if (!level.ok()) return Fail("--log-level: " + level.status().message());
  if (!format.ok()) return Fail("--log-format: " + format.status().message());
  brfed::log::Setup({*level, *format, "tidb-operator-sim"});

  brfed::sim::SimulatorOptions options;
  if (cluster_flags.empty())
    return Fail("at least one --cluster NAME=KUBECONFIG[:CONTEXT] is required");
  for (const std::string& flag : cluster_flags) {
    auto ep = brfed::sim::ParseClusterFlag(flag);
    if (!ep.ok()) return Fail(ep.status().message());
    for (const auto& other : options.clusters) {
      if (other.name == ep->name) return Fail("--cluster " + ep->name + " given twice");
    }
    options.clusters.push_back(*ep);
  }
  if (!topology_file.empty()) {
    std::ifstream in(topology_file);
    if (!in) return Fail("cannot read --topology " + topology_file);
    std::stringstream text;
    text << in.rdbuf();
    auto topo = brfed::sim::ParseTopology(text.str());
    if (!topo.ok()) return Fail(topology_file + ": " + topo.status().message());
    options.topology = *topo;
  } else {
    auto size = brfed::sim::ParseQuantity(volume_size);
    if (!size.ok() || *size <= 0)
      return Fail("--volume-size: " +
                  (size.ok() ? std::string("must be positive") : size.status().message()));
    defaults.volume_size = *size;
    for (const auto& ep : options.clusters) {
      ClusterTopology c = defaults;
      c.name = ep.name;
      options.topology.clusters.push_back(c);
    }
  }
  for (const std::string& spec : fault_flags) {
    auto f = brfed::sim::ParseFault(spec);
    if (!f.ok()) return Fail("--fault: " + f.status().message());
    options.faults.push_back(*f);
  }
  options.timing = brfed::sim::Timing::Scaled(speed, zero_latency, imitate_resync);
  options.audit_log = audit_log;
  options.admin_addr = admin_addr;

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
