// Kubeconfig loading: one file, a `KUBECONFIG` list merged with kubectl's rules (the first
// file that defines a named cluster, user or context wins; `current-context` comes from the
// first file that sets it), a string (a kubeconfig held in a Secret), or in-cluster
// service-account configuration. The result for one context is a RestConfig: everything a
// Client needs to reach one API server, with TLS material held in memory (never written to
// disk).
//
// Every error is kInvalidArgument and names the source file, the context and the field at
// fault, e.g. `kubeconfig /x/config: context "eks-1": user "u": client-key-data: bad base64`.
//
// Thread-safety: Kubeconfig and RestConfig are immutable values after construction; safe to
// share between threads.
#ifndef BRFED_KUBE_KUBECONFIG_H_
#define BRFED_KUBE_KUBECONFIG_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "kube/rate_limiter.h"

namespace brfed::kube {

class CredentialSource;  // kube/credentials.h
class ConnectionPool;    // kube/client.h

// An exec credential plugin (client.authentication.k8s.io/v1 or v1beta1).
struct ExecConfig {
  std::string api_version;  // "client.authentication.k8s.io/v1" or ".../v1beta1"
  std::string command;      // bare names use PATH; relative paths with '/' are already resolved
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to the child's environment only
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string interactive_mode;  // "Never", "IfAvailable", "Always" (we never have a TTY)
};

struct RestConfig {
  std::string source;        // where this came from ("kubeconfig /path", "in-cluster"): for errors
  std::string context_name;  // the kubeconfig context (= brfed's cluster name); "in-cluster"
  std::string server;        // "https://host:port", no trailing slash
  // TLS. PEM bytes, in memory only.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string client_cert_pem;
  std::string client_key_pem;
  // Authentication (at most one kind is used: exec, then token file, then token, then basic).
  std::string bearer_token;
  std::string token_file;  // re-read at least every minute
  std::string username, password;
  std::optional<ExecConfig> exec;
  std::string proxy_url;
  // Cluster data for exec plugins with provideClusterInfo (KUBERNETES_EXEC_INFO).
  std::string ca_data_base64;

  // Transport knobs.
  double qps = 50;
  int burst = 100;
  // A token bucket shared with other clients of the same server (qps and burst are then its
  // own), and this client's priority in it; null: the client has a bucket of its own.
  std::shared_ptr<RateLimiter> shared_limiter;
  RateLimiter::Priority priority = RateLimiter::Priority::kNormal;
  // Credentials shared with the other clients of the same context (one exec-plugin cache for
  // them all, so one client's refresh serves the others); null: the client builds its own.
  std::shared_ptr<CredentialSource> shared_credentials;
  // Connections shared with the other clients of the same server (one pool of kept-alive
  // connections, so one client's request keeps them warm for the others); null: its own pool.
  std::shared_ptr<ConnectionPool> shared_connections;
  std::chrono::milliseconds timeout{30000};  // every non-watch request
  // Retries of transient failures (idempotent requests, watch starts, 429s); 0 = one attempt.
  int max_retries = 4;
  // Sent as User-Agent, so API-server audit logs can tell the programs apart.
  std::string user_agent = "brfed";
};

class Kubeconfig {
 public:
  // Reads and parses one file. A missing or unreadable file is kInvalidArgument naming it.
  static Result<Kubeconfig> LoadFile(const std::string& path);
  // Merges several files in order with kubectl's first-wins rules. Missing files in the list
  // are skipped (as kubectl does), but at least one must exist.
  static Result<Kubeconfig> LoadFiles(const std::vector<std::string>& paths);
  // $KUBECONFIG (a ':'-separated list) when set, else ~/.kube/config.
  static Result<Kubeconfig> LoadFromEnvOrDefault();
  // Parses YAML or JSON text. `source_name` appears in errors; relative paths inside resolve
  // against `base_dir` (the file's directory; "" = current directory).
  static Result<Kubeconfig> Parse(std::string_view yaml, std::string_view source_name,
                                  std::string_view base_dir = "");

  std::vector<std::string> ContextNames() const;  // sorted
  const std::string& CurrentContext() const { return current_context_; }

  // The RestConfig for `context` ("" = current-context). Unknown contexts, dangling cluster or
  // user references, bad base64/PEM, unreadable files and legacy auth-provider entries are
  // kInvalidArgument errors naming file, context and field.
  Result<RestConfig> ForContext(std::string_view context) const;

 private:
  struct Entry {
    std::string source;    // file name or source_name
    std::string base_dir;  // for relative paths
    std::shared_ptr<const Json> value;
  };
  // ForContext's parts: the cluster's and the user's fields into `out`.
  static Status ReadCluster(const Entry& cluster, const std::string& context,
                            const std::string& cluster_name, RestConfig& out);
  static Status ReadUser(const Entry& user, const std::string& context,
                         const std::string& user_name, RestConfig& out);

  std::map<std::string, Entry, std::less<>> clusters_, users_, contexts_;
  std::string current_context_;
};

// In-cluster configuration: KUBERNETES_SERVICE_HOST/PORT, the service-account CA and token
// file under /var/run/secrets/kubernetes.io/serviceaccount (re-read by the client). kNotFound
// when not running in a pod.
Result<RestConfig> InClusterConfig();
// Same, with the service-account directory given (tests).
Result<RestConfig> InClusterConfigFrom(std::string_view host, std::string_view port,
                                       const std::string& sa_dir);

// The --kubeconfig flag semantics: `kubeconfig_path` if given, else $KUBECONFIG, else
// in-cluster, else ~/.kube/config; then `context` ("" = current) when a kubeconfig is used.
Result<RestConfig> ResolveRestConfig(const std::string& kubeconfig_path,
                                     const std::string& context);

}  // namespace brfed::kube

#endif  // BRFED_KUBE_KUBECONFIG_H_
