// The VolumeBackupSchedule decision: a pure function from what the controller observed (the
// schedule, its VolumeBackups, the other schedules of its group, our own in-flight
// bookkeeping, the time) to what it should do (create one VolumeBackup, delete one for
// retention), the new status, the Events and when to look again.
//
// Behaviour (upstream's, with the changes the project decided on):
// - Slots come from the cron (CronSchedule); the reference is the latest of
//   status.lastBackupTime, status.allBackupCleanTime and the creation time. Only the newest
//   due slot runs; older missed ones are dropped. With more than 1000 missed slots nothing
//   runs and allBackupCleanTime moves to now (skip ahead), with a Warning. A reference in the
//   future (clock went back) runs nothing until the next slot after it.
// - One unfinished backup at a time per schedule and per schedule group
//   (label tidb.pingcap.com/backup-schedule-group). When several schedules of a group are due,
//   the one with the earliest due slot, then the smallest name, goes first; every schedule of
//   the group computes the same answer. The controller also holds a claim per group between a
//   create and its appearance in the cache (ScheduleObservation::claim_holder).
// - Retention: maxReservedTime (preferred) or maxBackups (0 = unlimited); skipGC backups are
//   exempt; one deletion at a time, only once no earlier deletion is still in progress; the
//   newest Complete backup is never deleted; Failed backups go before Complete ones; unfinished
//   backups are never deleted. Retention runs while paused.
// - Invalid input (cron, maxReservedTime, maxBackups, template without br or s3, a name too
//   long for the generated objects, or template validation) sets condition Invalid=True with
//   a message and a Warning Event, and creates nothing.
// - While a data plane the template names is unreachable, condition DataPlaneUnreachable=True
//   names it and its last error (with a Warning Event; looked at again every 5 s); False once
//   every one answers. Backups are still created: their own protocol waits for the cluster.
//
// Thread-safety: pure functions over caller-owned values.
#ifndef BRFED_FEDERATION_SCHEDULE_DECIDE_H_
#define BRFED_FEDERATION_SCHEDULE_DECIDE_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "core/time.h"
#include "federation/decision.h"

namespace brfed::cron {
class CronSchedule;
}  // namespace brfed::cron

namespace brfed::federation {

using cron::CronSchedule;

// Missed slots beyond this are not enumerated (upstream's guard).
inline constexpr int kMaxMissedSlots = 1000;

// One schedule as observed: the object, its VolumeBackups (label backup-schedule=<name>, same
// namespace) from the cache, and what the controller knows that the cache may not show yet.
struct ScheduleObservation {
  const Json* schedule = nullptr;
  std::vector<const Json*> backups;
  // Result of validating the VolumeBackup this schedule would create (the VolumeBackup
  // controller's validation); OK when valid or not checked.
  Status template_validation;
};

struct ScheduleDecideInput {
  ScheduleObservation self;
  // The other schedules in the namespace with the same group label (empty without a group).
  std::vector<ScheduleObservation> group_peers;
  // Backups carrying the group label whose schedule no longer exists (deleting a schedule keeps
  // its backups): one still running holds the group like a peer's would.
  std::vector<const Json*> orphan_group_backups;
  // The schedule holding this schedule's claim (its group's, or its own without a group):
  // a backup it created is not in the cache yet. Empty when nobody holds it.
  std::string claim_holder;
  // Backups this controller asked to delete that the cache does not show as deleting yet.
  std::vector<std::string> deletes_in_flight;
  // The last probe error of each data plane the schedule's template names that the manager
  // counts unreachable (DataPlanes::UnreachableError); absent while it answers.
  std::map<std::string, std::string> unreachable;
  Time now;
};

struct ScheduleDecision : DecisionBase {
  // At most one VolumeBackup to create (a full object) and at most one to delete.
  std::vector<Json> create;
  std::string delete_backup;
  std::string delete_reason;  // why, for the Event and log
  // The whole new `status` of the schedule, and whether it differs from the current one.
  std::vector<Json> status;  // exactly one element
  bool status_changed = false;
  // events: "SuccessfulCreate", "RetentionDelete", "Invalid" ...; requeue_after: the next
  // slot, or a backstop while blocked.
  // Newest Complete backup's completion (or creation) time, for the metric; nullopt if none.
  std::optional<Time> last_successful_backup;
  // Why nothing was created this time (for logs and tests): "", "paused", "invalid",
  // "not-due", "busy", "group-busy", "group-order", "claimed", "too-many-missed",
  // "clock-backwards", "exists".
  std::string wait_reason;
};

ScheduleDecision DecideSchedule(const ScheduleDecideInput& input);

// Slot arithmetic, exposed for tests and for peers: the newest slot in (reference, now],
// the first slot after now, and whether more than kMaxMissedSlots were missed.
struct ScheduleSlots {
  std::optional<Time> due;
  std::optional<Time> next;
  bool too_many_missed = false;
};
ScheduleSlots ComputeSlots(const CronSchedule& cron, Time reference, Time now);

// The VolumeBackup a schedule creates for `slot`: upstream's name, labels (schedule's own
// labels copied, then tidb.pingcap.com/backup-schedule=<schedule>), annotations (without
// kubectl's last-applied-configuration) and S3 prefix; no owner reference.
Json BuildScheduledVolumeBackup(const Json& schedule, Time slot);

// "<schedule>-<UTC 2006-01-02t15-04-05>".
std::string ScheduledBackupName(std::string_view schedule, Time slot);

// Go's path.Join(prefix, "-" + ts) as upstream uses for the S3 prefix.
std::string JoinS3Prefix(std::string_view prefix, std::string_view element);

// State of a VolumeBackup from its status: kRunning (anything not finished), kComplete,
// kFailed (Failed or Invalid). Cleaned/CleanFailed keep the state they ended in.
enum class BackupState { kRunning, kComplete, kFailed };
BackupState StateOfBackup(const Json& volume_backup);

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_SCHEDULE_DECIDE_H_
