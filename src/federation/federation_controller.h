// FederationController: the shape every federation controller (VolumeBackup, VolumeRestore,
// VolumeBackupSchedule) has for the manager, and the dependencies the manager hands to each.
// Registering a controller in the manager is one line: add a factory to its controller list.
// The shared pieces every controller uses come from here too: the executor wired to the
// control plane and data planes (NewExecutor), and the resync safety net (WithResyncSafetyNet).
//
// Thread-safety: Start and Stop are called from the manager's thread, once each.
#ifndef BRFED_FEDERATION_FEDERATION_CONTROLLER_H_
#define BRFED_FEDERATION_FEDERATION_CONTROLLER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/object_ref.h"
#include "core/status.h"
#include "federation/data_planes.h"
#include "federation/executor.h"
#include "kube/client.h"
#include "kube/rate_limiter.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "runtime/informer_factory.h"
#include "runtime/metrics.h"
#include "runtime/status_writer.h"

namespace brfed::federation {

struct ControllerDeps {
  std::shared_ptr<kube::Client> control_plane;  // the manager's own cluster
  // control_plane's token bucket (shared with it), which admission checks; null: none.
  std::shared_ptr<kube::RateLimiter> control_plane_limiter;
  // One informer per control-plane resource, shared by every controller (required).
  runtime::SharedInformerFactory* informers = nullptr;
  // Every control-plane status write goes through it (required).
  runtime::StatusWriter* status_writer = nullptr;
  DataPlanes* data_planes = nullptr;
  runtime::EventRecorder* events = nullptr;
  runtime::MetricsRegistry* metrics = nullptr;
  Clock* clock = RealClock::Get();
  int workers = 5;
  // Safety net only: every live object is looked at again after this long.
  std::chrono::seconds resync{30};
  // VolumeBackups: the manager's GC-pause budget (--gc-pause-budget, BackupDecideOptions).
  std::chrono::milliseconds gc_pause_budget{std::chrono::minutes(5)};
};

// How long a VolumeBackup's member-mirror-only status change may wait so that one write
// carries several (runtime::StatusBatcher). Members of one backup move through their phases
// within tens of milliseconds of each other (a data plane's reaction), so 200 ms gathers a
// burst of them into one write, while a person watching `brfed backup describe` (polled every
// 200 ms) sees member phases at most one poll late. Protocol transitions never wait.
inline constexpr std::chrono::milliseconds kMemberMirrorBatchWindow{200};
// While a backup's members keep changing between two protocol steps, each mirror-only write
// doubles its next window, up to this (a transition starts it afresh at 200 ms): at hundreds of
// concurrent backups their members are reached seconds apart, and a write per member change
// made the mirror most of a backup's status writes (16.8 of 22 at 10 data planes x 200). The
// bound is below upstream's 30 s resync, the only refresh the Go manager has.
inline constexpr std::chrono::milliseconds kMemberMirrorMaxBatchWindow{25600};

// A new GC pause opens (its initialize member is created), and a new backup starts (its
// finalizer is added), only while this share of the burst of the token buckets its writes need
// (its data planes' or the control plane's, and the status writes') is free: what is kept is
// for the writes that close the pauses already open (execute, resumeGcSchedule, teardown,
// their status), so those never wait for a token, and no worker blocks on a bucket for work
// that can wait. When the buckets run dry, new backups wait to start instead of open pauses
// waiting to end; the rate of work is the buckets' either way.
inline constexpr double kPauseReserve = 0.5;
// Deferred starts wait in an AdmissionLine: the first is woken whenever a backup is admitted,
// the others retry after their place times the recent interval between admissions (at least
// kAdmissionMinSpacing each), never later than kAdmissionMaxWait. Every try checks the buckets
// and the backlog again.
inline constexpr std::chrono::milliseconds kAdmissionMinSpacing{5};
inline constexpr std::chrono::milliseconds kAdmissionMaxWait{1000};
inline constexpr std::chrono::seconds kAdmissionForgetAfter{60};

// The executor of `deps`: "" is the control plane, any other name a data plane's client.
Executor NewExecutor(const ControllerDeps& deps, WritePacing pacing = {});

// WritePacing::on_stale_member_cache for the data planes: relists the member cache (Backups or
// Restores) of the cluster whose write's answer contradicted it.
StaleMemberCacheFn MemberCacheRelister(const DataPlanes* planes);
// Our members of `member_resource` (Backups or Restores), in every synced member cache of a
// data plane the probe finds reachable, whose owner annotation `owner_label` names `key`.
std::vector<OrphanedMember> CachedMembersOwnedBy(const DataPlanes& planes,
                                                 const kube::Resource& member_resource,
                                                 std::string_view owner_label,
                                                 const std::string& key);
// An owner (VolumeBackup, VolumeRestore) our cache lacks but the server still has: look for
// its members again after this (its watch event also brings the key back).
inline constexpr std::chrono::seconds kOrphanRecheck{1};
// Before members are deleted as orphans: our cache may lag the owner's creation (or
// re-creation), so only the control plane can say it is gone. nullopt when it answers
// NotFound; otherwise what the pass returns (look again after kOrphanRecheck, or the error).
std::optional<Result<runtime::ReconcileOutcome>> WaitUnlessOwnerGone(
    kube::Client& control_plane, const kube::Resource& owner_resource, const ObjectKey& owner);
// The one event sink: deps.events (the EventRecorder) as an EventSink; empty without one.
EventSink NewExecutorEventSink(const ControllerDeps& deps);

// The resync safety net, in one place: a live object (not finished, or being deleted) is looked
// at again after at most `resync` even without events; a finished one waits for events.
runtime::ReconcileOutcome WithResyncSafetyNet(std::optional<std::chrono::nanoseconds> requeue_after,
                                              bool live, std::chrono::seconds resync);

// Starts the shared informers and waits (bounded) until `informers` have synced.
Status StartInformers(const ControllerDeps& deps, const std::vector<runtime::Informer*>& informers);

class FederationController {
 public:
  virtual ~FederationController() = default;
  virtual const std::string& name() const = 0;
  // Starts the control-plane informers, waits for their first list (bounded), then the workers.
  virtual Status Start() = 0;
  virtual void Stop() = 0;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_FEDERATION_CONTROLLER_H_
