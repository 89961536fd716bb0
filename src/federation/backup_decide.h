// The VolumeBackup protocol as a pure function: given one VolumeBackup, what we observe of its
// member Backup in every data plane, and the time, return what to do next (member creates,
// merge patches carrying the observed resourceVersion, deletes, finalizer changes), the new
// status, Events to record and when to look again. Everything that makes the federal backup safe
// (ARCHITECTURE.md §1 and §5) is decided here and table-tested; the controller only observes
// caches and carries the decision out.
//
// Deciding twice on the same observation gives the same decision: creates are idempotent by name
// (AlreadyExists), patches carry the resourceVersion they were decided on (Conflict when stale),
// and status timestamps are set only on the first transition.
//
// Thread-safety: pure functions; no shared state.
#ifndef BRFED_FEDERATION_BACKUP_DECIDE_H_
#define BRFED_FEDERATION_BACKUP_DECIDE_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/time.h"
#include "federation/decision.h"

namespace brfed::federation {

// What the controller knows about one data plane (kubeconfig context) for one VolumeBackup.
struct BackupClusterView {
  // A ClusterHandle exists for the context and its member cache is synced.
  bool reachable = false;
  // Why not, for status and Events ("context 'x' is not in the federation kubeconfig", ...).
  std::string problem;
  // The member `fed-<name>` in tcNamespace from the cache (or, when the cache had none, from a
  // live read that found one of ours), or nullptr when absent.
  std::shared_ptr<const Json> member;
  // The manager's reachability probe counts this cluster's API server as unreachable: its last
  // error (empty while it answers). Then `reachable` is false too: no action is sent there.
  std::string unreachable_error;
  // The last error of an action against this cluster that retrying will not fix (Forbidden,
  // Invalid, NotFound namespace ...): the member counts as failed.
  std::string permanent_error;
  // A `fed-<name>` without our marks that a live read found when the cache had none: adopted
  // when the Go br-federation-manager built it for this VolumeBackup
  // (api::IsGoManagerMember), otherwise someone else's object that blocks the name.
  std::shared_ptr<const Json> unmarked_member;
};

// What the manager itself saw of one backup's GC-pause window: when its events arrived and when
// its writes were answered (wall clock). The controller keeps them in memory, so a manager that
// restarted inside a window has none for it and reports no control-plane share for that window.
struct GcPauseMarks {
  std::optional<Time> initialized_seen;  // first event of the init member holding the pause
  std::optional<Time> execute_written;   // the last execute write (execute patch, member create)
  std::optional<Time> snapshots_seen;    // the latest first-SnapshotsCreated event over members
  std::optional<Time> resume_written;    // the resumeGcSchedule patch answered
  // This manager already recorded the window (a decision with gc_pause_seconds was carried
  // out): without status.steps nothing persisted says so after a failed backup's teardown.
  bool window_recorded = false;
};

// The part of the pause window [opened, closed] spent waiting on the manager: from opened
// (Initialized seen) to the last execute write answered, plus from the last SnapshotsCreated
// seen to resumeGcSchedule answered (or to `closed` when the window closed without one: a
// teardown decided in that pass). A missing mark contributes nothing; each part and the sum are
// clamped to the window, so the share never exceeds it. Pure.
std::chrono::nanoseconds GcPauseControlPlaneShare(Time opened, Time closed,
                                                  const GcPauseMarks& marks);

struct BackupObservation {
  std::shared_ptr<const Json> volume_backup;
  // Contexts of the federation kubeconfig, for validation messages.
  std::vector<std::string> known_clusters;
  // Keyed by k8sClusterName; a cluster missing here is treated as unreachable.
  std::map<std::string, BackupClusterView> clusters;
  Time now;
  GcPauseMarks gc_pause;
  // When this manager first carried out a decision to tear the backup down (kept in memory):
  // what status.steps[] (step Teardown) says, for upstream's CRDs, which prune status.steps.
  std::optional<Time> teardown_seen;
};

struct BackupDecideOptions {
  // How long a deletion waits for the GC pause to be released by teardown before it deletes
  // the members anyway (the data plane's init-job deadline still bounds the pause).
  std::chrono::seconds deletion_teardown_grace{60};
  // When to look again while a data plane is unreachable or blocked.
  std::chrono::seconds unreachable_retry{5};
  // The manager's bound on the GC pause (--gc-pause-budget; the annotation
  // api::kGcPauseBudgetAnnotation overrides it per VolumeBackup): when not every member has
  // reported VolumeBackupSnapshotsCreated this long after the pause began, the backup fails with
  // reason PauseBudgetExceeded and is torn down at once.
  std::chrono::milliseconds gc_pause_budget{std::chrono::minutes(5)};
  // After a failure or a deletion, members other than the initialize one that have no
  // snapshots are deleted (foreground) at once, and the initialize member's teardown waits for
  // them to be gone at most this long (a member taking snapshots after the pause ended would
  // take them with GC running). After a failure, it is also how long the initialize member,
  // once sent teardown, may keep running without snapshots before it is deleted too, which is
  // what releases GC soonest (docs/sim.md); the grace lets a member about to end keep its
  // status. A backup failed by the budget deletes the initialize member without it.
  std::chrono::seconds stop_after_failure_grace{10};
};

struct BackupAction {
  enum class Kind {
    kCreateMember,             // body: the member object
    kPatchMember,              // body: merge patch with metadata.resourceVersion
                               // (spec changes, or api::AdoptionPatch for a Go-built member)
    kDeleteMember,             // name/namespace only
    kPatchVolumeBackup,        // body: metadata merge patch (finalizers) with resourceVersion
    kPatchVolumeBackupStatus,  // body: {"metadata":{"resourceVersion"},"status":merge patch}
  };
  Kind kind;
  std::string cluster;  // member actions: the k8sClusterName
  std::string ns;
  std::string name;
  std::shared_ptr<const Json> body;
  // kPatchVolumeBackupStatus: the change only mirrors member fields (status.backups[]) and
  // brings no Event, so it may wait for a batch window; a protocol transition never does.
  bool may_wait = false;
  // The writes that admit a backup, which no pause waits for: the finalizer's addition ({""},
  // the control plane) and the create of the initialize member, which opens the GC pause
  // (every cluster of the backup, which the pause will need writes on; the other member writes
  // go on the data planes' pause clients). Empty for every other action.
  std::vector<std::string> admission_on;
  // kDeleteMember: "Foreground" when the member's Jobs (the init Job holding the GC pause, a
  // running execute Job) must go before it does; "" for the server's default.
  std::string propagation_policy = "";
};

// `actions`: the status patch, when present, is last.
struct BackupDecision : Decision<BackupAction> {
  // The new status (equal to the old one when there is no status action).
  std::shared_ptr<const Json> status;
  // Facts for metrics, set on the decision that makes the transition.
  std::string finished_phase;           // "Complete" | "Failed" when the backup ends here
  std::optional<double> total_seconds;  // with finished_phase
  long long total_size_bytes = 0;       // with finished_phase (Failed too, as upstream)
  std::string cleanup_phase;            // "Cleaned" | "CleanFailed"
  std::optional<double> cleanup_seconds;
  std::optional<double> gc_pause_seconds;  // when the GC-pause window closes
  bool pause_budget_exceeded = false;      // failed by the GC-pause budget in this decision
  bool tears_down = false;                 // teardown (after success or failure) is under way
  // With gc_pause_seconds, when this manager saw the window open (GcPauseMarks).
  std::optional<double> gc_pause_control_plane_seconds;
};

// Failed condition reason when the GC-pause budget ran out.
inline constexpr std::string_view kReasonPauseBudgetExceeded = "PauseBudgetExceeded";
// status.backups[].reason of a member that vanished while the backup ran (not deleted by the
// manager: by hand, or its data plane's API server lost its data); the backup fails.
inline constexpr const char* kReasonMemberVanished = "MemberVanished";
// status.backups[].reason of a member the manager deleted before its snapshots, after a failure
// (BackupDecideOptions::stop_after_failure_grace); once gone it is not called vanished.
inline constexpr const char* kReasonMemberStopped = "MemberStopped";

// Step names in status.steps[] (brfed addition), in protocol order.
namespace backup_step {
inline constexpr const char* kInitialize = "Initialize";  // init member created -> Initialized
// Initialized seen -> release seen, or teardown sent; it also carries controlPlaneTimeTaken
// (GcPauseControlPlaneShare) when this manager saw the whole window.
inline constexpr const char* kGcPause = "GCPause";
inline constexpr const char* kCreateSnapshots = "CreateSnapshots";      // -> all SnapshotsCreated
inline constexpr const char* kCompleteSnapshots = "CompleteSnapshots";  // -> all Complete
inline constexpr const char* kTeardown = "Teardown";  // teardown sent -> all members done
}  // namespace backup_step

BackupDecision DecideVolumeBackup(const BackupObservation& observation,
                                  const BackupDecideOptions& options = {});

// The status write that takes `volume_backup`'s status (as observed) to `status`: a merge patch
// conditional on its resourceVersion; nullopt when they are equal. It may wait for a batch
// window only with `may_wait` (no Event in the decision) and when it changes status.backups[]
// alone. A metadata patch changes the resourceVersion, so a decision never carries both.
std::optional<BackupAction> StatusWriteAction(const Json& volume_backup, const Json& status,
                                              bool may_wait);

// What to do with members whose VolumeBackup is gone. A pass of ours can create a member after
// a deletion it has not yet seen: kube-apiserver can delete an object whose finalizer a
// concurrent patch had just added (the DELETE read it without; chaos seed 22010), and nothing
// else would ever delete such a member, whose init job may hold the GC pause. Each one not yet
// being deleted is deleted in the foreground (its jobs, the pause with them, go first); one
// without snapshots under cleanPolicy Delete gets OnFailure first, as a member stopped during a
// deletion does (its clean would otherwise fail for ever on the missing backupmeta).
std::vector<BackupAction> DecideOrphanedMembers(const std::vector<OrphanedMember>& members);

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_BACKUP_DECIDE_H_
