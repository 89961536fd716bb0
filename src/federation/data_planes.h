// DataPlanes: what a federation controller sees of the data-plane clusters — one entry per
// context of the federation kubeconfig, each with a client and label-selected caches of the
// member Backups and Restores. The manager implements it (ClusterHandles, hot-reloaded from the
// kubeconfig file); tests fake it.
//
// Controllers register member-event handlers and cluster-change handlers before the manager
// starts the data planes; handlers apply to every cluster, including ones added later.
//
// Thread-safety: implementations are safe for concurrent use. A DataPlane snapshot returned by
// Get stays valid (shared ownership) even if the cluster is removed meanwhile.
#ifndef BRFED_FEDERATION_DATA_PLANES_H_
#define BRFED_FEDERATION_DATA_PLANES_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "kube/client.h"
#include "kube/rate_limiter.h"
#include "runtime/informer.h"
#include "runtime/informer_factory.h"

namespace brfed::federation {

struct DataPlane {
  std::string name;  // the kubeconfig context = k8sClusterName
  // Null when the context could not be built (then `problem` says why).
  std::shared_ptr<kube::Client> client;
  // The same cluster, sharing `client`'s token bucket with priority over it: the member writes
  // a GC pause waits for never queue behind this cluster's other requests (new backups' creates,
  // reads), which are the ones that wait when the bucket runs dry; null: they use `client`.
  std::shared_ptr<kube::Client> pause_client;
  // The token bucket `client` and `pause_client` share; null when they have none in common.
  std::shared_ptr<kube::RateLimiter> limiter;
  std::string problem;
  // The cluster's one informer factory (null when not built): every informer of this cluster
  // comes from it, so there is one list and one watch per resource and selector.
  std::shared_ptr<runtime::SharedInformerFactory> informers;
  // Member caches selected by api::kManagedBySelector, from `informers`; null when not built.
  std::shared_ptr<runtime::Informer> backups;
  std::shared_ptr<runtime::Informer> restores;
};

class DataPlanes {
 public:
  virtual ~DataPlanes() = default;
  // Context names, sorted.
  virtual std::vector<std::string> Names() const = 0;
  // Null when the context is unknown.
  virtual std::shared_ptr<const DataPlane> Get(std::string_view name) const = 0;

  // `resource` is kube::resources::Backup() or Restore(); `handler(cluster, member)` runs on
  // the informer thread for every add, update and delete of a member.
  using MemberHandler = std::function<void(const std::string& cluster, const Json& member)>;
  virtual void AddMemberHandler(const kube::Resource& resource, MemberHandler handler) = 0;
  // Runs after the set of clusters (or one cluster's configuration) changed.
  virtual void AddClusterChangeHandler(std::function<void()> handler) = 0;
  // The last probe error while the cluster's API server counts as unreachable (it stopped
  // answering the manager's reachability probe); empty while it answers or is unknown.
  virtual std::string UnreachableError(std::string_view name) const {
    (void)name;
    return {};
  }
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_DATA_PLANES_H_
