// The VolumeRestore controller. RestoreReconciler::Reconcile(key) observes the caches (the
// VolumeRestore, the referenced VolumeBackup, the member Restores in every data plane), calls
// the pure DecideRestore, lowers the decision to Writes and hands them to the Executor
// (executor.h: stops at the first failure), then records Events and metrics. It never LISTs;
// it GETs a member only past a cache that may be wrong (ReadUnmarkedMembers,
// CheckCachedMembersLive). A stale cache otherwise shows up as Conflict/AlreadyExists and is
// resolved by the next watch event, a relist, or the queue's retry.
//
// Write order per pass: add finalizer -> member actions -> status -> remove finalizer, then
// events/metrics. Any prefix of that may be lost to a crash or a failed write; the next pass
// re-derives the rest from what it then observes (DecideRestore is idempotent).
//
// VolumeRestoreController is the FederationController the manager registers: it owns the
// control-plane informers (VolumeRestores, VolumeBackups), the work queue and workers, and maps
// member Restore events (owner annotation), VolumeBackup events (volumeBackupName) and cluster
// changes to VolumeRestore keys.
//
// Thread-safety: Reconcile may run concurrently for different keys (the work queue never hands
// one key to two workers). Start/Stop from one thread. Ownership: neither class owns its deps'
// pointees; they must outlive it.
#ifndef BRFED_FEDERATION_RESTORE_CONTROLLER_H_
#define BRFED_FEDERATION_RESTORE_CONTROLLER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/json.h"
#include "core/object_ref.h"
#include "core/status.h"
#include "federation/decision.h"
#include "federation/executor.h"
#include "federation/federation_controller.h"
#include "federation/restore_decide.h"
#include "kube/client.h"
#include "runtime/cache.h"
#include "runtime/controller.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "runtime/write_expectations.h"

namespace brfed::federation {

// What the reconciler sees of the data planes (tests fake it; VolumeRestoreController adapts
// DataPlanes).
class RestoreClusterView {
 public:
  virtual ~RestoreClusterView() = default;
  // Contexts of the federation kubeconfig.
  virtual std::set<std::string> ClusterNames() const = 0;
  // Contexts whose client exists and whose member-Restore cache has synced.
  virtual std::set<std::string> ObservableClusters() const = 0;
  // The client of `cluster`, or nullptr.
  virtual std::shared_ptr<kube::Client> ClientFor(const std::string& cluster) const = 0;
  // The client of the phase patches the restore waits on (restore-data, restore-finish): first
  // in `cluster`'s token bucket (DataPlane::pause_client), so they never queue behind that data
  // plane's other requests. nullptr: they go on ClientFor's.
  virtual std::shared_ptr<kube::Client> PriorityClientFor(const std::string&) const {
    return nullptr;
  }
  // Clusters the reachability probe counts as unreachable, with the last error.
  virtual std::map<std::string, std::string> UnreachableClusters() const { return {}; }
  // The cached member Restore `key` in `cluster`, or nullptr.
  virtual runtime::ObjectPtr CachedRestore(const std::string& cluster,
                                           const ObjectKey& key) const = 0;
  // Our cached member Restores, in synced caches of reachable clusters, whose owner annotation
  // names VolumeRestore `key` ("namespace/name").
  virtual std::vector<OrphanedMember> CachedRestoresOwnedBy(const std::string& key) const = 0;
};

// Restore metrics (none exist upstream), registered once per registry.
struct RestoreMetrics {
  explicit RestoreMetrics(runtime::MetricsRegistry& registry);
  runtime::Counter& status;   // fed_volume_restore_status{namespace,status}
  runtime::Histogram& total;  // fed_volume_restore_total_time_seconds{namespace,status}
  runtime::Histogram& step;   // fed_volume_restore_step_duration_seconds{namespace,step}
};

class RestoreReconciler {
 public:
  // How often a waiting VolumeRestore's cached members are read live: a member that vanished
  // with its server's data, and that nothing writes to, is otherwise kept by a cache whose
  // server has already counted past its resourceVersion (chaos seed 20189).
  static constexpr std::chrono::seconds kMemberLiveCheckInterval{30};

  struct Deps {
    std::shared_ptr<kube::Client> control;  // the control-plane API server
    const runtime::Cache* volume_restores = nullptr;
    const runtime::Cache* volume_backups = nullptr;
    const RestoreClusterView* clusters = nullptr;
    EventSink events;                   // may be empty
    RestoreMetrics* metrics = nullptr;  // may be null
    Clock* clock = RealClock::Get();
    // The control plane's status writer; null: the reconciler makes its own over `control`.
    runtime::StatusWriter* status_writer = nullptr;
    // WritePacing::on_stale_member_cache, also told by the live member checks (may be empty).
    StaleMemberCacheFn on_stale_member_cache;
    // The namespace a namespace-scoped manager watches; "" for all.
    std::string scope_namespace;
  };

  explicit RestoreReconciler(Deps deps);

  // Reconciles VolumeRestore "namespace/name"; usable as a runtime::ReconcileFn.
  Result<runtime::ReconcileOutcome> Reconcile(const std::string& key);

  // The VolumeRestore key ("namespace/name") a member Restore belongs to, from our owner
  // annotation; "" when the member is not ours. For mapping member watch events to keys.
  static std::string OwnerKey(const Json& member);
  // The VolumeRestore keys that reference VolumeBackup `volume_backup` via volumeBackupName.
  std::vector<std::string> KeysReferencing(const Json& volume_backup) const;

 private:
  struct Observed;
  Observed Observe(const std::string& key, runtime::ObjectPtr volume_restore) const;
  // A live GET where the cache misses a member that should exist (see MemberExpected).
  void ReadUnmarkedMembers(const std::string& key, const Json& volume_restore,
                           Observed& observed) const;
  // While `volume_restore` waits on its members, reads its cached members live at most every
  // kMemberLiveCheckInterval and reports one its server no longer has as a stale cache.
  void CheckCachedMembersLive(const std::string& key, const Json& volume_restore);
  // The pass for a key whose VolumeRestore our cache no longer holds: its members left behind
  // (DecideOrphanedRestoreMembers) are deleted once the control plane confirms it is gone.
  Result<runtime::ReconcileOutcome> DeleteOrphanedMembers(const std::string& key);
  std::vector<Write> Lower(const Json& volume_restore, const RestoreDecision& d) const;
  // How long to wait for the caches to show our own last writes to the VolumeRestore and its
  // members (runtime::WriteExpectations); nullopt when they do.
  std::optional<std::chrono::nanoseconds> AwaitOwnWrites(const Json& volume_restore);
  void RecordMetrics(const std::string& ns, const RestoreDecision& d) const;

  Deps deps_;
  std::unique_ptr<runtime::StatusWriter> own_status_writer_;
  // What our writes returned, until the caches show it (no decision on an older cache).
  std::unique_ptr<runtime::WriteExpectations> expectations_;
  std::unique_ptr<Executor> executor_;
  std::mutex live_checks_mu_;
  std::map<std::string, SteadyTime> last_live_check_;  // by VolumeRestore key; live_checks_mu_
};

class VolumeRestoreController final : public FederationController {
 public:
  explicit VolumeRestoreController(ControllerDeps deps);
  ~VolumeRestoreController() override;

  const std::string& name() const override { return name_; }
  Status Start() override;
  void Stop() override;

  // One pass for "namespace/name" (exposed for tests).
  Result<runtime::ReconcileOutcome> Reconcile(const std::string& key);

 private:
  class ClusterView;

  const std::string name_ = "volumeRestore";
  ControllerDeps deps_;
  std::shared_ptr<runtime::Informer> restores_;
  std::shared_ptr<runtime::Informer> backups_;
  std::unique_ptr<ClusterView> view_;
  std::unique_ptr<RestoreMetrics> metrics_;
  std::unique_ptr<RestoreReconciler> reconciler_;
  std::unique_ptr<runtime::Controller> controller_;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_RESTORE_CONTROLLER_H_
