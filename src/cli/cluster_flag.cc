#include "cli/cluster_flag.h"

#include <set>

#include "core/object_ref.h"

namespace brfed::cli {
namespace {

Status Malformed(std::string_view value, std::string_view why) {
  return InvalidArgument("malformed --cluster \"" + std::string(value) + "\": " + std::string(why) +
                         "; expected CONTEXT=NAMESPACE/TIDBCLUSTER, e.g. --cluster "
                         "dp-1=tidb/basic (CONTEXT is a context of the federation kubeconfig)");
}

}  // namespace

Result<ClusterTarget> ParseClusterFlag(std::string_view value) {
  const size_t eq = value.find('=');
  if (eq == std::string_view::npos) return Malformed(value, "missing '='");
  const std::string_view context = value.substr(0, eq);
  const std::string_view rest = value.substr(eq + 1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return Malformed(value, "missing '/' after NAMESPACE");
  ClusterTarget target{std::string(context), std::string(rest.substr(0, slash)),
                       std::string(rest.substr(slash + 1))};
  if (target.k8s_cluster_name.empty()) return Malformed(value, "CONTEXT is empty");
  if (target.tc_namespace.empty()) return Malformed(value, "NAMESPACE is empty");
  if (target.tc_name.empty()) return Malformed(value, "TIDBCLUSTER is empty");
  if (std::string err = ValidateDnsLabel(target.tc_namespace); !err.empty()) {
    return Malformed(value, "NAMESPACE: " + err);
  }
  if (std::string err = ValidateDnsLabel(target.tc_name); !err.empty()) {
    return Malformed(value, "TIDBCLUSTER: " + err);
  }
  return target;
}

Result<std::vector<ClusterTarget>> ParseClusterFlags(const std::vector<std::string>& values) {
  std::vector<ClusterTarget> targets;
  std::set<std::string> seen;
  for (const std::string& value : values) {
    BRFED_ASSIGN_OR_RETURN(ClusterTarget target, ParseClusterFlag(value));
    if (!seen.insert(target.k8s_cluster_name).second) {
      return InvalidArgument("--cluster names data plane \"" + target.k8s_cluster_name +
                             "\" twice; give one TidbCluster per data plane");
    }
    targets.push_back(std::move(target));
  }
  return targets;
}

}  // namespace brfed::cli
