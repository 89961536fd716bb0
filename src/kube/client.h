// Client: REST access to one Kubernetes API server (one kubeconfig context) for any
// group/version/resource, plus watches. The real implementation (NewClient) runs on libcurl
// with connection reuse, a timeout on every request (watches get an idle timeout instead), a
// QPS/burst limiter, retries with jittered backoff for transient failures on idempotent
// requests only (GET, LIST, DELETE, watch start; 429 honours Retry-After), one re-try after a
// 401 with refreshed credentials, and errors typed from the server's Status body.
//
// Errors: Status codes kNotFound, kAlreadyExists, kConflict, kGone, kInvalid, kBadRequest,
// kForbidden, kUnauthorized, kTooManyRequests, kTimeout, kUnavailable, kInternal, each with
// http_status(), the server's reason() and its message.
//
// Thread-safety: Client is safe for concurrent use; share it via std::shared_ptr. A
// WatchStream is used by one reader thread, except Cancel(), which any thread may call.
#ifndef BRFED_KUBE_CLIENT_H_
#define BRFED_KUBE_CLIENT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"
#include "kube/client_metrics.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"

namespace brfed::kube {

enum class PatchType { kMerge, kJsonPatch, kStrategicMerge, kApply };

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
  long limit = 0;
  std::string continue_token;
  // Leaves metadata.managedFields out of every listed object, as WatchOptions.
  bool strip_managed_fields = false;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  bool allow_bookmarks = true;
  int timeout_seconds = 0;  // server-side end of the stream; 0 = server default
  // The stream fails with kTimeout when no bytes arrive for this long.
  std::chrono::seconds idle_timeout{300};
  // Drops metadata.managedFields from every object (a cache that never reads them, as
  // controller-runtime's TransformStripManagedFields).
  bool strip_managed_fields = false;
};

struct DeleteOptions {
  std::optional<std::string> precondition_resource_version;
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  std::shared_ptr<const Json> object;  // never null for a parsed event
};

// Parses one watch line ({"type":..., "object":...}). ERROR events are returned as events
// (the object is the Status); malformed lines are kInternal errors.
Result<WatchEvent> ParseWatchEvent(std::string_view line, bool strip_managed_fields = false);
// Removes metadata.managedFields (kube-apiserver's field ownership, kilobytes per object that
// only server-side apply reads).
void StripManagedFields(Json& object);

// The typed Status for an HTTP error `code` with body `body` (a Kubernetes Status or not).
Status StatusFromResponse(int code, std::string_view body);

// Whether `s` is the API server's answer to a read at a resourceVersion it has not reached
// (504 Timeout, "Too large resource version"): the server lost the state the client saw (it
// was restarted on an empty store). Retrying cannot help; the client must relist from scratch.
bool IsResourceVersionTooLarge(const Status& s);

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Blocks for the next event; std::nullopt when the server closed the stream normally.
  // kTimeout after the idle timeout; kCancelled after Cancel().
  virtual Result<std::optional<WatchEvent>> Next() = 0;
  // Thread-safe; makes a blocked Next() return kCancelled.
  virtual void Cancel() = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  // The kubeconfig context name this client talks to.
  virtual const std::string& cluster_name() const = 0;

  virtual Result<Json> Get(const Resource& r, std::string_view ns, std::string_view name) = 0;
  // The List object (items, metadata.resourceVersion, metadata.continue).
  virtual Result<Json> List(const Resource& r, std::string_view ns, const ListOptions& o = {}) = 0;
  virtual Result<Json> Create(const Resource& r, std::string_view ns, const Json& obj) = 0;
  // Namespace and name from obj.metadata; the resourceVersion in obj is the precondition.
  virtual Result<Json> Update(const Resource& r, const Json& obj) = 0;
  virtual Result<Json> UpdateStatus(const Resource& r, const Json& obj) = 0;
  virtual Result<Json> Patch(const Resource& r, std::string_view ns, std::string_view name,
                             PatchType type, const Json& patch,
                             std::string_view subresource = "") = 0;
  virtual Status Delete(const Resource& r, std::string_view ns, std::string_view name,
                        const DeleteOptions& o = {}) = 0;
  virtual Result<std::unique_ptr<WatchStream>> Watch(const Resource& r, std::string_view ns,
                                                     const WatchOptions& o) = 0;
  // Raw request for anything else (discovery, reviews). `body` may be null. Returns the
  // parsed response body (null Json for an empty body).
  virtual Result<Json> Request(std::string_view method, std::string_view path,
                               const Json* body) = 0;
};

// Kept-alive connections (libcurl handles) that clients of one server may share
// (RestConfig::shared_connections): a request takes the most recently returned one, so
// requests of a client used rarely reuse the connection that a client used often keeps open,
// instead of paying TCP and TLS handshakes (and a dead connection's detection) of their own.
// Opaque outside the client; thread-safe.
class ConnectionPool;
std::shared_ptr<ConnectionPool> NewConnectionPool();

// A client for `config`. `metrics` (optional, not owned) must outlive the client. Errors:
// kInvalidArgument for unusable configuration (bad server URL, unparsable PEM).
Result<std::shared_ptr<Client>> NewClient(const RestConfig& config,
                                          ClientMetrics* metrics = nullptr);

// Call once in main() before any thread starts (libcurl's global init is not thread-safe).
// NewClient calls it too, guarded by std::call_once, for tests and simple programs.
void GlobalInit();

}  // namespace brfed::kube

#endif  // BRFED_KUBE_CLIENT_H_
