// The `--cluster CONTEXT=NAMESPACE/TIDBCLUSTER` flag: which data plane (a context of the
// federation kubeconfig, i.e. its k8sClusterName) and which TidbCluster in it.
//
// Thread-safety: pure functions over values.
#ifndef BRFED_CLI_CLUSTER_FLAG_H_
#define BRFED_CLI_CLUSTER_FLAG_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace brfed::cli {

struct ClusterTarget {
  std::string k8s_cluster_name;  // context name in the federation kubeconfig
  std::string tc_namespace;
  std::string tc_name;
  bool operator==(const ClusterTarget&) const = default;
};

// Parses one flag value. Errors (kInvalidArgument) quote the value and show the expected form.
Result<ClusterTarget> ParseClusterFlag(std::string_view value);

// Parses every value; also rejects two targets in the same data plane (members are keyed by
// k8sClusterName, so one TidbCluster per data plane).
Result<std::vector<ClusterTarget>> ParseClusterFlags(const std::vector<std::string>& values);

}  // namespace brfed::cli

#endif  // BRFED_CLI_CLUSTER_FLAG_H_
