// FederationSandbox: the real processes of a federation for integration suites. A control-plane
// brfed-apiserver (with the federation CRDs), one data-plane brfed-apiserver per cluster name
// (with the TiDB Operator test CRDs), tidb-operator-sim driving the data planes, a federation
// kubeconfig with one context per data plane, and br-federation-manager processes started on
// demand. Also small helpers the suites share: a kube::Client per kubeconfig, the manager's
// /metrics and /readyz, and the simulator's audit check.
//
// Thread-safety: not thread-safe; set up and torn down from one thread. The kube::Clients it
// hands out are thread-safe. Ownership: the sandbox owns its processes and temporary directory
// and kills and removes them on destruction; a ManagerProcess belongs to the caller, who
// destroys it (SIGKILL) before the sandbox.
#ifndef BRFED_TESTS_HARNESS_FEDERATION_SANDBOX_H_
#define BRFED_TESTS_HARNESS_FEDERATION_SANDBOX_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "kube/client.h"
#include "tests/harness/harness.h"

namespace brfed::testing {

struct FederationSandboxOptions {
  std::vector<std::string> clusters = {"c1", "c2"};
  // Contexts in the federation kubeconfig at start (empty = all clusters).
  std::vector<std::string> kubeconfig_clusters;
  std::string ns = "default";  // created on the control plane
  // tidb-operator-sim arguments besides --cluster, --audit-log and --admin-addr.
  std::vector<std::string> sim_args = {"--zero-latency",
                                       "--tikv-per-cluster",
                                       "1",
                                       "--volumes-per-store",
                                       "1",
                                       "--log-level",
                                       "warn"};
};

// One br-federation-manager process.
struct ManagerProcess {
  std::unique_ptr<Process> process;
  std::string log;  // its stderr
  int metrics_port = 0;
};

class FederationSandbox {
 public:
  // Starts every process and waits until each is ready. Errors carry the failing process's
  // output.
  static Result<std::unique_ptr<FederationSandbox>> Start(FederationSandboxOptions options = {});
  ~FederationSandbox();
  FederationSandbox(const FederationSandbox&) = delete;
  FederationSandbox& operator=(const FederationSandbox&) = delete;

  // Rewrites the federation kubeconfig (atomically) with a context per named data plane.
  Status WriteFederationKubeconfig(const std::vector<std::string>& clusters);

  // Starts br-federation-manager against the sandbox (--namespace ns, --metrics-addr on a free
  // port, the federation kubeconfig polled every 200ms) plus `extra` flags, and waits until it
  // serves metrics. `tag` names its log files.
  Result<std::unique_ptr<ManagerProcess>> StartManager(const std::string& tag,
                                                       const std::vector<std::string>& extra = {
                                                           "--leader-elect=false"});

  // GET /metrics and /readyz of a manager.
  static std::string Metrics(const ManagerProcess& manager);
  static bool Ready(const ManagerProcess& manager);

  // `tidb-operator-sim check --audit-log` over this sandbox's audit log: exit code and output.
  CommandResult CheckAuditLog() const;

  const std::string& ns() const { return options_.ns; }
  const TempDir& dir() const { return *dir_; }
  const ApiServer& control_plane() const { return *control_plane_; }
  const ApiServer& data_plane(const std::string& cluster) const {
    return *data_planes_.at(cluster);
  }
  std::shared_ptr<kube::Client> control_plane_client() const { return cp_client_; }
  std::shared_ptr<kube::Client> data_plane_client(const std::string& cluster) const {
    return dp_clients_.at(cluster);
  }
  // The simulator's admin endpoint.
  const HttpClient& sim_admin() const { return *sim_admin_; }
  const std::string& audit_log() const { return audit_log_; }
  const std::string& federation_kubeconfig() const { return federation_kubeconfig_; }

 private:
  explicit FederationSandbox(FederationSandboxOptions options);
  Status StartAll();

  FederationSandboxOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ApiServer> control_plane_;
  std::map<std::string, std::unique_ptr<ApiServer>> data_planes_;
  std::shared_ptr<kube::Client> cp_client_;
  std::map<std::string, std::shared_ptr<kube::Client>> dp_clients_;
  std::unique_ptr<Process> sim_;
  std::unique_ptr<HttpClient> sim_admin_;
  std::string audit_log_;
  std::string federation_kubeconfig_;
};

// A kube::Client for the current context of a kubeconfig file.
Result<std::shared_ptr<kube::Client>> KubeClientFor(const std::string& kubeconfig);

// The condition of `type` with status "True" in obj.status.conditions, or nullptr.
const Json* TrueCondition(const Json& obj, const std::string& type);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_FEDERATION_SANDBOX_H_
