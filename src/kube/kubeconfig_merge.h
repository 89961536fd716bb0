// MergeKubeconfigs: one kubeconfig document holding every cluster, context and user of several
// (the federation kubeconfig that `brfed sandbox` and the test harness build from one
// kubeconfig per data plane).
//
// Thread-safety: a pure function.
#ifndef BRFED_KUBE_KUBECONFIG_MERGE_H_
#define BRFED_KUBE_KUBECONFIG_MERGE_H_

#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace brfed::kube {

// Merges kubeconfig texts (YAML or JSON) in order: their clusters, contexts and users are
// concatenated (no de-duplication), and current-context is the first one set. An unparsable
// text is kInvalidArgument.
Result<Json> MergeKubeconfigs(const std::vector<std::string>& kubeconfigs);

}  // namespace brfed::kube

#endif  // BRFED_KUBE_KUBECONFIG_MERGE_H_
