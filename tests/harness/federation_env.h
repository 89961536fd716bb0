// FederationEnv: a whole federation of real processes on 127.0.0.1 for integration suites: a
// control-plane API server serving the federation CRDs (FederationCrd; with a namespace for the
// federation objects), data-plane API servers serving the pingcap.com CRDs (DataPlaneCrdArgs),
// all brfed-apiserver or all kube-apiserver (TestBackend), tidb-operator-sim
// acting as TiDB Operator in all of them (audit log and admin endpoint on), a federation
// kubeconfig with one context per data plane (its tokens, or an exec plugin that issues them),
// and br-federation-manager processes on demand.
//
// Thread-safety: none; one test thread drives it. Ownership: the environment owns its temporary
// directory and every process it starts; destroying it kills them (managers first).
#ifndef BRFED_TESTS_HARNESS_FEDERATION_ENV_H_
#define BRFED_TESTS_HARNESS_FEDERATION_ENV_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "tests/harness/exec_plugin.h"
#include "tests/harness/harness.h"

namespace brfed::testing {

struct FederationEnvOptions {
  std::vector<std::string> data_planes = {"c1", "c2", "c3"};
  // Contexts written to the federation kubeconfig at start; empty = every data plane.
  std::vector<std::string> federation_contexts;
  // The simulator's flags besides --cluster, --audit-log and --admin-addr.
  std::vector<std::string> sim_args = {"--zero-latency",
                                       "--tikv-per-cluster",
                                       "1",
                                       "--volumes-per-store",
                                       "1",
                                       "--log-level",
                                       "warn"};
  std::string ns = "default";  // control-plane namespace of the federation objects
  // Every API server keeps its state in a --data-dir, so RestartApiServer can bring it back
  // with its data (brfed-apiserver's journal, kube-apiserver's etcd and certificates).
  bool persistent = false;
  // Flags for every API server when the backend is brfed-apiserver (--enable-fault-injection);
  // ignored on kube, which has none of them.
  std::vector<std::string> brfed_apiserver_args;
  // The manager gets its data-plane tokens from an exec credential plugin (ExecPlugin) instead
  // of the federation kubeconfig; unset: from the kubeconfig.
  std::optional<ExecPluginOptions> exec_plugin;
};

// One br-federation-manager process; `metrics_port` is read from its log once it serves.
struct ManagerProcess {
  std::unique_ptr<Process> process;
  std::string log;  // its stderr
  int metrics_port = 0;

  bool Ready() const;  // GET /readyz answers 200 (a standby is Ready too)
  // /metrics shows leader_election_master_status{...} 1: this process's controllers run.
  bool Leading() const;
  std::string Metrics() const;  // GET /metrics body ("" when unreachable)
  std::string Log() const { return ReadFile(log); }
};

class FederationEnv {
 public:
  static Result<std::unique_ptr<FederationEnv>> Start(const FederationEnvOptions& options);
  ~FederationEnv();
  FederationEnv(const FederationEnv&) = delete;
  FederationEnv& operator=(const FederationEnv&) = delete;

  // Rewrites the federation kubeconfig (atomically) with a context per named data plane.
  Status WriteFederationKubeconfig(const std::vector<std::string>& names);

  // Starts br-federation-manager against the control plane and the federation kubeconfig
  // (--namespace ns, metrics on an ephemeral port) and waits until it serves metrics. `tag`
  // names its log files; `extra` is appended to its flags; `env` is added to its environment.
  Result<std::unique_ptr<ManagerProcess>> StartManager(
      const std::string& tag, const std::vector<std::string>& extra = {"--leader-elect=false"},
      const std::vector<std::pair<std::string, std::string>>& env = {});

  // Kills (SIGKILL) the API server `name` ("control-plane" or a data plane) and starts it
  // again on the same address, with its data (`keep_data`) or empty. Needs `persistent`. An
  // empty kube-apiserver keeps its certificates and tokens (only etcd goes), so clients still
  // trust it; an empty data plane gets the simulator's TidbCluster again (copied from before).
  Status RestartApiServer(const std::string& name, bool keep_data);
  // Reads every data plane's TidbCluster as the simulator made it, for RestartApiServer's
  // empty restarts (call it once the simulator is up and before any fault).
  Status RememberTidbClusters();

  // What an operator does before restoring into the named data planes' TidbClusters: recovery
  // mode on, and no volumes-ready mark left from an earlier restore. Returns once the simulator
  // has seen both: it checks recovery mode from its own cache when a Restore appears, and a
  // Restore it finds with recovery mode off ends Invalid for good, as in TiDB Operator.
  Status PrepareRestoreTargets(const std::vector<std::string>& data_planes);

  // `tidb-operator-sim check --audit-log` over this environment's audit log.
  CommandResult CheckAuditLog() const;

  const TempDir& dir() const { return *dir_; }
  // Keeps the directory (logs, audit logs, data) after the environment stops.
  void KeepDirectory() { dir_->Keep(); }
  const std::string& ns() const { return ns_; }
  const ApiServer& control_plane() const { return *control_plane_; }
  const ApiServer& data_plane(const std::string& name) const { return *data_planes_.at(name); }
  // "control-plane" or a data plane's name.
  const ApiServer& api_server(const std::string& name) const;
  const std::string& federation_kubeconfig() const { return federation_kubeconfig_; }
  const std::string& audit_log() const { return audit_log_; }
  // Where the exec plugin (FederationEnvOptions::exec_plugin) logs its runs (ExecPluginRuns).
  std::string exec_plugin_runs_log() const { return dir_->File("exec-plugin-runs"); }
  // The audit log of the API server `name` ("control-plane" or a data plane's name): every
  // request it served, in its backend's format (CountAuditedRequests reads both).
  std::string api_server_audit_log(const std::string& name) const {
    return dir_->File(name + "-audit.log");
  }
  const HttpClient& sim_admin() const { return *sim_admin_; }
  Process& simulator() { return *sim_; }  // to freeze it (SIGSTOP) while the world changes
  std::string SimLog() const { return ReadFile(dir_->File("sim.err")); }

 private:
  FederationEnv() = default;
  ApiServerOptions ApiServerOptionsFor(const std::string& name, Backend backend) const;

  std::unique_ptr<TempDir> dir_;
  std::string ns_;
  std::unique_ptr<ApiServer> control_plane_;
  std::map<std::string, std::unique_ptr<ApiServer>> data_planes_;
  std::unique_ptr<Process> sim_;
  std::unique_ptr<HttpClient> sim_admin_;
  std::string audit_log_;
  std::string federation_kubeconfig_;
  FederationEnvOptions options_;
  std::map<std::string, Json> tidbclusters_;  // data plane -> its TidbCluster at start
};

// BRFED_BINARY_DIR/src/sim/tidb-operator-sim and
// BRFED_BINARY_DIR/src/manager/br-federation-manager.
std::string SimBinary();
std::string ManagerBinary();

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_FEDERATION_ENV_H_
