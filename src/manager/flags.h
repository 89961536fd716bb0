// ManagerFlags: br-federation-manager's command line, with upstream's flag names, parsed and
// validated into typed values. Parsing is pure (the environment is passed in) so tests cover
// every flag and every bad input; main() only prints what it returns.
//
// Thread-safety: plain values and a pure function.
#ifndef BRFED_MANAGER_FLAGS_H_
#define BRFED_MANAGER_FLAGS_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/log.h"

namespace brfed::manager {

inline constexpr char kDefaultFederationKubeconfigPath[] =
    "/etc/br-federation/federation-kubeconfig/kubeconfig";
inline constexpr char kLeaseBaseName[] = "br-federation-manager";

struct ManagerFlags {
  std::string kubeconfig;  // control plane; "" = $KUBECONFIG, else in-cluster
  std::string federation_kubeconfig_path = kDefaultFederationKubeconfigPath;
  std::string ns;  // where the leader Lease lives; the only watched namespace when !cluster_scoped
  // Upstream's -cluster-scoped: false watches the federation kinds in `ns` only.
  bool cluster_scoped = true;
  int workers = 5;
  bool leader_elect = true;
  // Upstream's name: br-federation-manager, suffixed with -$HELM_RELEASE when that is set.
  std::string lease_name = kLeaseBaseName;
  std::chrono::milliseconds leader_lease_duration{15000};
  std::chrono::milliseconds leader_renew_deadline{10000};
  std::chrono::milliseconds leader_retry_period{2000};
  double kube_client_qps = 50;
  int kube_client_burst = 100;
  std::chrono::milliseconds resync_duration{30000};
  std::string metrics_addr = ":6060";
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kText;
  // How often the federation kubeconfig file is looked at for changes.
  std::chrono::milliseconds kubeconfig_poll_interval{1000};
  // Reachability probe of every data plane: how often, how long one probe may take (a single
  // attempt), and how many failures in a row make a cluster unreachable.
  std::chrono::milliseconds probe_interval{5000};
  std::chrono::milliseconds probe_timeout{3000};
  int unreachable_after = 3;
  // The bound on a VolumeBackup's GC pause (docs/manager.md, "GC-pause budget").
  std::chrono::milliseconds gc_pause_budget{std::chrono::minutes(5)};
};

struct FlagParse {
  enum class Outcome { kRun, kExit };
  Outcome outcome = Outcome::kRun;
  int exit_code = 0;   // kExit: 0 for --help/--version, 2 for bad flags
  std::string output;  // kExit: text for stdout (exit 0) or stderr (exit 2)
  ManagerFlags flags;  // kRun
  // kRun: accepted flags that mean nothing here (klog's), one line each, to log once at start.
  std::vector<std::string> warnings;
};

using GetEnv = std::function<const char*(const char*)>;

// `args` excludes the program name. Both `--name value` and Go's spellings (`-name=value`,
// `-name value`, `-bool`, `-bool=false`; see go_flags.h) are accepted.
FlagParse ParseManagerFlags(const std::vector<std::string>& args, const GetEnv& getenv);

}  // namespace brfed::manager

#endif  // BRFED_MANAGER_FLAGS_H_
