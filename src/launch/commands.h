// The command lines of the federation's processes: an API server (brfed-apiserver or
// brfed-kube-testenv, which share these flags), tidb-operator-sim and br-federation-manager.
// `brfed sandbox` and the test harness build them here, so the two start the same federation.
// Pure functions of their inputs.
//
// Thread-safety: stateless free functions.
#ifndef BRFED_LAUNCH_COMMANDS_H_
#define BRFED_LAUNCH_COMMANDS_H_

#include <string>
#include <utility>
#include <vector>

namespace brfed::launch {

// The CRD files, under a CRD directory (deploy/crds or upstream's federation/v1), that a
// control plane serves.
const std::vector<std::string>& FederationCrdFiles();

struct ApiServerCommand {
  std::string name;
  std::string kubeconfig_out;  // where the server writes a kubeconfig for itself
  std::string listen;          // "" = the server's default
  bool tls = false;
  std::string token;     // "" = none (or, on kube, one the server makes up)
  std::string data_dir;  // "" = in memory (kube: a throw-away etcd)
  std::vector<std::string> crd_paths;
};
std::vector<std::string> ApiServerArgs(const ApiServerCommand& command);

// Whether an API server's stdout holds its `ready <url>` line (brfed-kube-testenv prints it
// once its CRDs are Established, after it has written its kubeconfig).
bool ReportedReady(const std::string& stdout_text);

struct SimulatorCommand {
  std::vector<std::pair<std::string, std::string>> clusters;  // name, kubeconfig path
  std::string admin_addr;
  std::string audit_log;
};
std::vector<std::string> SimulatorArgs(const SimulatorCommand& command);

struct ManagerCommand {
  std::string control_plane_kubeconfig;
  std::string federation_kubeconfig;
  std::string ns;
  std::string metrics_addr;
};
std::vector<std::string> ManagerArgs(const ManagerCommand& command);

}  // namespace brfed::launch

#endif  // BRFED_LAUNCH_COMMANDS_H_
