// `brfed clusters join NAME` and `brfed clusters leave NAME`: give the manager a least-privilege
// identity in one data plane, and a context NAME for it in the federation kubeconfig.
//
// join, through the data plane's kubeconfig (--kubeconfig/--context), applies:
//   - ServiceAccount brfed-NAME in namespace br-federation (created if absent);
//   - ClusterRole brfed-NAME-reader (get/list/watch Backups and Restores, bound cluster-wide:
//     the manager's member caches watch all namespaces) and its ClusterRoleBinding;
//   - ClusterRole brfed-NAME-writer (create/patch/delete them), bound by a RoleBinding in each
//     --tc-namespace, or cluster-wide by a ClusterRoleBinding when none is given.
// The rules are those of deploy/data-plane/rbac.yaml (a test asserts they are equal). It then
// asks for a token (TokenRequest, --token-duration; or, with --token-secret, a long-lived token
// from Secret brfed-NAME-token of type kubernetes.io/service-account-token, which the data
// plane's token controller fills, as upstream's docs do it) and writes context NAME (cluster, user,
// context of that name) into the federation kubeconfig with the data plane's server and CA,
// atomically and with mode 0600. Every object carries the label federation.pingcap.com/joined-as
// = NAME, which is how leave (and a join with fewer namespaces) finds them again.
// leave deletes those objects and the context; the namespace br-federation stays (others may
// use it). Both are idempotent. With --secret, both then copy the federation kubeconfig into a
// Secret of the control plane (what the chart mounts; the manager re-reads the mounted file).
//
// Thread-safety: the pure functions are; the commands run on the calling thread.
#ifndef BRFED_CLI_CLUSTERS_JOIN_H_
#define BRFED_CLI_CLUSTERS_JOIN_H_

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/command_context.h"
#include "core/json.h"
#include "core/status.h"
#include "kube/resource.h"

namespace brfed::cli {

inline constexpr char kJoinNamespace[] = "br-federation";
inline constexpr char kJoinedAsLabel[] = "federation.pingcap.com/joined-as";
// The federation kubeconfig when neither the flag nor $BRFED_FEDERATION_KUBECONFIG is given.
inline constexpr char kDefaultFederationKubeconfig[] = "federation.kubeconfig";

struct JoinArgs {
  std::string name;
  std::vector<std::string> tc_namespaces;
  std::string token_duration = "8760h";
  // --token-secret: the token of a service-account token Secret instead of TokenRequest.
  bool token_secret = false;
  // --secret NAMESPACE/NAME: also store the federation kubeconfig in that Secret (key
  // `kubeconfig`, as the chart mounts it) of the control plane that --control-kubeconfig and
  // --control-context point to ("" = $KUBECONFIG, in-cluster, ~/.kube/config).
  std::string secret;
  std::string control_kubeconfig;
  std::string control_context;
};

// NAME must be a DNS label short enough for every object name derived from it.
Status ValidateJoinName(const std::string& name);
// A Go duration of at least 10m (TokenRequest's minimum).
Result<std::chrono::seconds> ParseTokenDuration(const std::string& text);

// --secret NAMESPACE/NAME, checked; kInvalidArgument naming the flag.
Result<std::pair<std::string, std::string>> ParseSecretFlag(const std::string& text);
// The Secret holding `kubeconfig_text` under key `kubeconfig`, for server-side apply.
Json KubeconfigSecret(const std::string& ns, const std::string& name,
                      const std::string& kubeconfig_text);

// The rules of the reader and writer ClusterRoles (deploy/data-plane/rbac.yaml's).
Json MemberReaderRules();
Json MemberWriterRules();

// One object join applies in the data plane.
struct JoinObject {
  const kube::Resource* resource;
  std::string ns;  // "" for cluster-scoped objects
  Json object;
};
// The ServiceAccount first, then roles, then bindings (the order join applies them in).
std::vector<JoinObject> JoinObjects(const std::string& name,
                                    const std::vector<std::string>& tc_namespaces);
std::string ServiceAccountName(const std::string& name);

// The TokenRequest body for `duration`.
Json TokenRequestBody(std::chrono::seconds duration);
// The service-account token Secret of --token-secret (labelled like the other objects).
std::string TokenSecretName(const std::string& name);
Json TokenSecret(const std::string& name);

// Where context NAME points to.
struct FederationEntry {
  std::string server;
  std::string ca_data;  // base64 certificate-authority-data; "" = none
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string token;
};
// `kubeconfig` (a parsed kubeconfig, or null for a new file) with cluster, user and context
// NAME set to `entry`, replacing entries of that name; the others are kept as they are.
Result<Json> SetFederationContext(Json kubeconfig, const std::string& name,
                                  const FederationEntry& entry);
// `kubeconfig` without cluster, user and context NAME (and current-context, if it was NAME).
Json RemoveFederationContext(Json kubeconfig, const std::string& name);

int ClustersJoinCommand(CommandContext& ctx, const JoinArgs& args);
int ClustersLeaveCommand(CommandContext& ctx, const JoinArgs& args);

}  // namespace brfed::cli

#endif  // BRFED_CLI_CLUSTERS_JOIN_H_
