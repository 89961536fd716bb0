// `brfed clusters check`: for each data plane of the federation kubeconfig, whether the manager
// could work with it: reachable, authenticated, pingcap.com Backup/Restore CRDs served, access
// allowed (SelfSubjectAccessReview, when the server supports it), TidbClusters present. Each
// failed check carries the fix in words.
//
// Thread-safety: CheckCluster uses the given client from the calling thread; the rest is pure.
#ifndef BRFED_CLI_CLUSTERS_CHECK_H_
#define BRFED_CLI_CLUSTERS_CHECK_H_

#include <chrono>
#include <string>
#include <vector>

#include "cli/cluster_flag.h"
#include "cli/style.h"
#include "kube/client.h"

namespace brfed::cli {

enum class CheckState { kOk, kFailed, kSkipped, kNotChecked };

struct CheckItem {
  CheckState state = CheckState::kSkipped;
  std::string summary;  // short cell text: "yes", "no", "2 found", "not checked"
  std::string fix;      // what to do, when failed
};

struct ClusterCheck {
  std::string cluster;  // context name
  std::string server;
  CheckItem reachable, authenticated, crds, access, tidbclusters;
  bool ok() const;
};

// The bound on each request of a check; a server that does not answer within it (frozen,
// overloaded, partitioned) is reported unreachable with the error.
inline constexpr std::chrono::seconds kClusterCheckTimeout{5};

// Runs the checks against one data plane. `expected` are the --cluster targets naming this
// context (empty = any TidbCluster will do).
ClusterCheck CheckCluster(kube::Client& client, const std::string& server,
                          const std::vector<ClusterTarget>& expected);

// A check for a context that could not even be configured (bad kubeconfig entry).
ClusterCheck UnconfiguredCluster(const std::string& cluster, const std::string& error);

// The table plus one line per failed check with its fix.
std::string RenderClusterChecks(const std::vector<ClusterCheck>& checks, const Style& style);

}  // namespace brfed::cli

#endif  // BRFED_CLI_CLUSTERS_CHECK_H_
