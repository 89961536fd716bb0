// VolumeBackupController: observe -> decide -> act for VolumeBackups. It watches VolumeBackups
// in the control plane and, through DataPlanes, the member Backups in every data plane (a
// member event enqueues its owner). A reconcile reads caches (plus one GET of a member the
// cache lacks where the VolumeBackup says it should exist: hand-over from the Go manager, whose
// members carry none of our labels, and deletion), calls DecideVolumeBackup,
// lowers its actions to Writes (member creates, merge patches carrying the decided
// resourceVersion, deletes, finalizer and status patches) and hands them to the Executor; then
// Events and metrics.
//
// Metrics: upstream's fed_volume_backup_status, fed_volume_backup_total_time_sec,
// fed_volume_backup_total_size_gb, fed_volume_backup_cleanup_status,
// fed_volume_backup_cleanup_total_time_sec, plus
// brfed_volume_backup_hop_latency_seconds{cluster} (member event -> our reacting write),
// brfed_volume_backup_gc_pause_seconds{namespace} (the window as the manager saw it) and
// brfed_volume_backup_gc_pause_control_plane_seconds{namespace} (its part spent waiting on the
// manager, from the GcPauseMarks kept here; none for a window opened before this process) and
// brfed_volume_backup_status_writes_total{cause} (why each status write was made).
//
// Work order: the keys of backups whose GC pause is open go first in the work queue, and a
// backup starts (finalizer, initialize member) only while its token buckets have room and no
// open pause's pass waits for a worker; deferred starts wait in an AdmissionLine.
//
// Write path: member writes (the pause-critical ones) go first in a decision and to each data
// plane's own client; the status write is last, on the control plane's status client, and
// member-mirror-only status changes are batched (runtime::StatusBatcher). No pass waits for a
// status token: a status write whose booked token is not due yet is held like a batched one,
// and the status it would have written is kept (HeldStatus) and decided on by the next pass,
// whose write then carries both (one write, every change since the last). Every write's
// returned resourceVersion is expected (runtime::WriteExpectations): a reconcile whose caches
// do not show our last write to the VolumeBackup or one of its members yet does nothing and
// waits for that write's watch event, so no decision is made on a cache older than our write.
//
// Thread-safety: Start/Stop from one thread; Reconcile is called by the workers (never twice
// at once for one key) and is safe for concurrent use across keys.
#ifndef BRFED_FEDERATION_BACKUP_CONTROLLER_H_
#define BRFED_FEDERATION_BACKUP_CONTROLLER_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "federation/admission_line.h"
#include "federation/backup_decide.h"
#include "federation/federation_controller.h"
#include "runtime/controller.h"
#include "runtime/informer.h"
#include "runtime/status_batcher.h"
#include "runtime/write_expectations.h"

namespace brfed::federation {

class VolumeBackupController final : public FederationController {
 public:
  VolumeBackupController(ControllerDeps deps, BackupDecideOptions options = {});
  ~VolumeBackupController() override;

  const std::string& name() const override { return name_; }
  Status Start() override;
  void Stop() override;

  // One pass for "namespace/name" (exposed for tests).
  Result<runtime::ReconcileOutcome> Reconcile(const std::string& key);

 private:
  BackupObservation Observe(std::shared_ptr<const Json> volume_backup);
  // The pass for a key whose VolumeBackup our cache no longer holds: its members left behind
  // (DecideOrphanedMembers) are deleted once the control plane confirms it is gone.
  Result<runtime::ReconcileOutcome> StopOrphanedMembers(const std::string& key);
  // Carries the decision's writes out; DecideAgain or an error when the pass stopped.
  // `volume_backup`: as cached, when the decision may write its status.
  std::optional<Result<runtime::ReconcileOutcome>> Act(const std::string& key,
                                                       BackupDecision& decision,
                                                       const Json* volume_backup = nullptr);
  // The VolumeBackup to decide on: the cached one, with our held status in place of its own
  // while the cache still shows the status that one was decided over.
  std::shared_ptr<const Json> WithHeldStatus(const std::string& key,
                                             std::shared_ptr<const Json> cached);
  // A decision made on a held status: its status write goes from the cached status instead, so
  // it carries the held changes too (and waits for a window only if both may).
  void RebaseStatusWrite(const std::string& key, const Json& cached, BackupDecision& decision);
  // After the writes: keeps the decided status when its write was held, forgets it once written.
  void KeepHeldStatus(const std::string& key, const Json& cached, const BackupDecision& decision,
                      const ExecuteResult& result);
  // How long to wait for the caches to show our own last writes to the VolumeBackup and its
  // observed members; nullopt when they all have.
  std::optional<std::chrono::nanoseconds> AwaitOwnWrites(const Json& volume_backup,
                                                         const BackupObservation& obs);
  void ReadMissingMembers(const Json& volume_backup, BackupObservation& obs);
  void ObserveHopLatency(const std::string& key);
  // NotePauseEvent runs under mu_; NotePauseWrite takes it.
  void NotePauseEvent(const std::string& key, const std::string& cluster, const Json& member);
  void NotePauseWrite(const std::string& key, const Write& write);
  void RecordMetrics(const Json& volume_backup, const BackupDecision& decision);
  std::vector<std::string> OnMemberEvent(const std::string& cluster, const Json& member);
  // High while this manager saw the key's GC pause open and not yet released: its passes go
  // before every other backup's (runtime::WorkQueue priority).
  runtime::WorkQueue::Priority PriorityOf(const std::string& key);
  // `key` leaves the admission line (admitted, or gone); the key now first in it tries at once.
  void LeaveAdmissionLine(const std::string& key);
  // The executor's pacing: expectations, the status batcher and, for admission, whether an
  // open pause's pass waits for a worker.
  WritePacing Pacing();

  const std::string name_ = "volumeBackup";
  ControllerDeps deps_;
  BackupDecideOptions options_;
  // What our writes returned, until the caches show it (before executor_, which uses them).
  runtime::WriteExpectations expectations_;
  // Member-mirror-only status changes wait up to kMemberMirrorBatchWindow.
  runtime::StatusBatcher status_batcher_;
  Executor executor_;
  // Backups whose start was deferred.
  AdmissionLine admission_line_;
  std::shared_ptr<runtime::Informer> informer_;
  std::unique_ptr<runtime::Controller> controller_;

  std::mutex mu_;
  // Errors that retrying will not fix, per "key|cluster", with when they happened; they expire
  // after one resync so a fixed environment is retried.
  std::map<std::string, std::pair<std::string, SteadyTime>> permanent_errors_;
  // When a member event for a key arrived, for the hop-latency histogram.
  std::map<std::string, std::pair<std::string, SteadyTime>> member_event_at_;
  // What this manager saw of each key's open GC-pause window (GcPauseMarks), with the first
  // SnapshotsCreated event of each member's cluster.
  struct PauseSeen {
    GcPauseMarks marks;
    std::map<std::string, Time> snapshots_seen;
  };
  std::map<std::string, PauseSeen> pause_seen_;
  // Keys whose GC-pause window this manager recorded (GcPauseMarks::window_recorded).
  std::set<std::string> pause_recorded_;
  // When this manager first carried out a teardown decision per key (BackupObservation::
  // teardown_seen), until the backup finishes.
  std::map<std::string, Time> teardown_seen_;
  // "key|cluster" whose member create answered AlreadyExists: the next observation reads it.
  std::set<std::string> exists_uncached_;
  // A status decided but not written yet (its write held), per key. A decision records a step
  // as it takes it (the member write that ends Initialize also starts GCPause) and would not
  // take it again, so a held transition must not be re-derived from the cache.
  struct HeldStatus {
    std::string uid;                     // its VolumeBackup's (not a later one of that name)
    std::shared_ptr<const Json> base;    // the cached status it was decided over
    std::shared_ptr<const Json> status;  // what the held write would have made it
    bool may_wait = false;               // the held write only mirrored members
    std::string cause;                   // its brfed_volume_backup_status_writes_total cause
  };
  std::map<std::string, HeldStatus> held_status_;

  runtime::Counter* status_total_ = nullptr;
  runtime::Counter* total_time_ = nullptr;
  runtime::Counter* total_size_ = nullptr;
  runtime::Counter* cleanup_status_ = nullptr;
  runtime::Counter* cleanup_time_ = nullptr;
  runtime::Histogram* hop_latency_ = nullptr;
  runtime::Histogram* gc_pause_ = nullptr;
  runtime::Counter* pause_budget_exceeded_ = nullptr;
  runtime::Counter* status_writes_ = nullptr;
  runtime::Histogram* gc_pause_control_plane_ = nullptr;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_BACKUP_CONTROLLER_H_
