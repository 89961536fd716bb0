// ScheduleController: the VolumeBackupSchedule reconciler. Observe (the schedule and
// VolumeBackup caches, plus its own in-flight bookkeeping) -> DecideSchedule -> act (create or
// delete one VolumeBackup, patch the schedule's status, Events, metrics).
//
// It talks to the world only through the small interfaces below, so the manager wires it to
// informer stores, a kube::Client, the EventRecorder and the metrics registry, and tests wire
// it to fakes.
//
// In-flight bookkeeping (why it exists): the caches lag behind our own writes. A claim per
// schedule group (or per schedule without a group) is taken atomically before a create and
// held until the cache shows the new VolumeBackup, so two schedules of one group reconciled at
// the same moment on different workers can never both create. Each claim key also has a
// generation, bumped whenever its claim is taken or released: a reconcile creates only if the
// generation is the one it saw before listing the caches, so a decision made on lists older
// than another schedule's create (and its claim's release) is dropped and retried. Likewise a
// delete is remembered until the cache shows it, so retention never deletes a second backup
// early.
//
// Deleting a schedule keeps its backups: generated VolumeBackups carry no owner reference,
// only the tidb.pingcap.com/backup-schedule label.
//
// Thread-safety: Reconcile may run concurrently for different keys (the work queue never runs
// one key twice at once); the bookkeeping is guarded by a mutex. Ownership: the interfaces
// passed in must outlive the controller.
#ifndef BRFED_FEDERATION_SCHEDULE_CONTROLLER_H_
#define BRFED_FEDERATION_SCHEDULE_CONTROLLER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "federation/decision.h"
#include "federation/schedule_decide.h"
#include "runtime/cache.h"

namespace brfed::federation {

// Writes to the control-plane API server.
class ScheduleWriter {
 public:
  virtual ~ScheduleWriter() = default;
  // Creates a VolumeBackup and returns the resourceVersion the server gave it ("" when the
  // answer had none); an existing one of that name is kAlreadyExists.
  virtual Result<std::string> CreateVolumeBackup(const Json& volume_backup) = 0;
  // Deletes a VolumeBackup; a missing one is kNotFound.
  virtual Status DeleteVolumeBackup(std::string_view ns, std::string_view name) = 0;
  // Writes the schedule's status: `patch` is an RFC 7386 merge patch of the whole object
  // ({"metadata":{"resourceVersion":..},"status":{..}}) for the status subresource.
  virtual Status PatchScheduleStatus(std::string_view ns, std::string_view name,
                                     const Json& patch) = 0;
  // The schedule as the API server has it now, past the cache (kNotFound when it is gone):
  // read before each create, because the cache can lag a pause or a deletion, and again once
  // the create is answered (ScheduleController::UndoCreateIfUnwanted).
  virtual Result<Json> ReadScheduleLive(std::string_view ns, std::string_view name) = 0;
};

// Metrics hooks (the manager maps them onto its registry).
class ScheduleMetrics {
 public:
  virtual ~ScheduleMetrics() = default;
  virtual void BackupCreated(std::string_view ns, std::string_view schedule) = 0;
  virtual void RetentionDeleted(std::string_view ns, std::string_view schedule) = 0;
  virtual void LastSuccessfulBackup(std::string_view ns, std::string_view schedule, Time t) = 0;
};

struct ScheduleControllerDeps {
  // Cache reads by namespace (informer stores); never the API server.
  std::function<std::vector<runtime::ObjectPtr>(std::string_view ns)> list_schedules;
  std::function<std::vector<runtime::ObjectPtr>(std::string_view ns)> list_volume_backups;
  // The VolumeBackup controller's validation of a VolumeBackup the schedule would create; OK
  // when valid. Optional.
  std::function<Status(const Json& volume_backup)> validate_volume_backup;
  // The last probe error of a data plane the manager counts unreachable, "" while it answers
  // (DataPlanes::UnreachableError). Optional.
  std::function<std::string(std::string_view cluster)> unreachable_error;
  ScheduleWriter* writer = nullptr;
  EventSink events;                    // optional
  ScheduleMetrics* metrics = nullptr;  // optional
  Clock* clock = RealClock::Get();
  // How long a claim or remembered delete may wait for the cache before it is dropped.
  std::chrono::seconds bookkeeping_timeout{60};
};

// validate_volume_backup built on the VolumeBackup controller's api::ValidateVolumeBackup,
// with the federation kubeconfig's contexts as the known clusters.
std::function<Status(const Json&)> VolumeBackupValidator(
    std::function<std::vector<std::string>()> known_clusters);

class ScheduleController {
 public:
  explicit ScheduleController(ScheduleControllerDeps deps);

  // Reconciles the schedule `ns/name`. The value is when to look again (nullopt = on events
  // only); errors are retried by the caller with backoff.
  Result<std::optional<std::chrono::nanoseconds>> Reconcile(const std::string& key);

  // The schedule keys ("ns/name") to reconcile when this object changes: a schedule maps to
  // itself and its group; a VolumeBackup to its schedule and that schedule's group.
  std::vector<std::string> KeysForSchedule(const Json& schedule) const;
  std::vector<std::string> KeysForVolumeBackup(const Json& volume_backup) const;

 private:
  struct Claim {
    std::string holder;       // schedule name
    std::string backup_name;  // what it created
    SteadyTime since;
  };
  struct PendingDelete {
    std::string key;  // "ns/name" of the VolumeBackup
    SteadyTime since;
  };

  struct Pass;
  // Lists the caches and settles the claim and delete bookkeeping against them.
  void ListAndSettle(Pass& pass);
  void ForgetSettledClaims(const Pass& pass);
  void ForgetSettledDeletes(Pass& pass);
  // The schedule template's clusters the manager cannot reach, with their last errors.
  std::map<std::string, std::string> UnreachableClusters(const Json& schedule) const;
  ScheduleDecideInput Observe(const Pass& pass,
                              std::vector<std::vector<runtime::ObjectPtr>>& keep_alive) const;
  Result<std::optional<std::chrono::nanoseconds>> Act(const Pass& pass, ScheduleDecision& d);
  // The schedule as the server has it now, against the one decided on.
  struct LiveSchedule {
    bool gone = false;     // not found, or another object (uid) under its name
    bool stopped = false;  // paused or being deleted
    std::string resource_version;
    bool CreatesBackups() const { return !gone && !stopped; }
  };
  Result<LiveSchedule> ReadLive(const Pass& pass);
  bool TakeClaim(const Pass& pass, const std::string& backup_name);
  // Releases the claim taken for a create that failed or was undone.
  void ReleaseClaim(const std::string& claim_key);
  Status CreateClaimed(const Pass& pass, const Json& volume_backup);
  Status UndoCreateIfUnwanted(const Pass& pass, const std::string& vb_name,
                              const std::string& created_rv);
  Status DeleteForRetention(const Pass& pass, const ScheduleDecision& d);
  std::vector<runtime::ObjectPtr> BackupsOf(const std::vector<runtime::ObjectPtr>& all,
                                            std::string_view schedule) const;
  std::vector<std::string> GroupKeys(std::string_view ns, std::string_view group) const;
  Status TemplateValidation(const Json& schedule) const;

  ScheduleControllerDeps deps_;
  std::mutex mu_;
  std::map<std::string, Claim> claims_;                // claim key -> claim
  std::map<std::string, uint64_t> claim_generations_;  // claim key -> takes + releases
  std::map<std::string, PendingDelete> deletes_;       // VolumeBackup key -> pending delete
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_SCHEDULE_CONTROLLER_H_
