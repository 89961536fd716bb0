// The simulator's audit log and its checker.
//
// AuditLog appends one JSON object per line to a file: the event fields from the model (or the
// driver) plus "seq" (line number from 1), "wall" (RFC 3339 with microseconds) and "mono_ns"
// (steady clock). Event shapes are listed in docs/sim.md.
//
// CheckAuditLog verifies the safety invariants over a log's text and returns every violation.
//
// Thread-safety: AuditLog is safe for concurrent use (one mutex); CheckAuditLog is pure.
#ifndef BRFED_SIM_AUDIT_H_
#define BRFED_SIM_AUDIT_H_

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace brfed::sim {

class AuditLog {
 public:
  // An empty path keeps events in memory only (tests read them with Lines()).
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, Clock* clock);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Append(const Json& event);
  std::vector<std::string> Lines() const;  // in-memory copy of what was written

 private:
  AuditLog(std::FILE* file, Clock* clock) : file_(file), clock_(clock) {}
  mutable std::mutex mu_;
  std::FILE* file_;
  Clock* clock_;
  uint64_t seq_ = 0;
  std::vector<std::string> lines_;
};

// The pd_resume `why` of a pause that went with its initialize member: the member vanished
// from its data plane (the simulator's relist no longer found it; the data plane's API server
// came back without its data), so nothing released the pause in order.
inline constexpr std::string_view kPauseGoneWithItsMember = "member vanished from its data plane";

// Invariants checked:
//  1. every PD pause (pd_pause) is released by a pd_resume of the same holder; an expiry
//     (pd_pause_expired) or a pause still held at the end of the log is a violation;
//  2. all snapshots of one backup (members sharing a name) were created inside one and the same
//     pause window (a maximal interval during which some holder paused PD), unless the backup
//     fails: a member reported a failure (VolumeBackupFailed, VolumeBackupInitializeFailed,
//     Failed or Invalid), or its initialize member vanished with the pause
//     (kPauseGoneWithItsMember) before the snapshot and none paused again since. Snapshots of a
//     member that vanished with its data plane's data (member_vanished, before or after them)
//     are part of no backup and are left out. The caller checks that a backup excused by a
//     loss never completes (BackupsThatMustNotComplete);
//  3. after a clean_done, every snapshot created by that member was deleted before it;
//  4. each restore (members sharing a name) ran restore-data at most once, on a member whose
//     commitTs is the smallest of the group, after every member of the group wrote TikvComplete;
//     a restore that reached restore-finish ran restore-data exactly once.
// Returns the violations in log order; malformed lines are violations too.
std::vector<std::string> CheckAuditLog(std::string_view text);

// Backups (member names) that rule 2 excused because of a loss, each with the loss: its
// initialize member vanished while holding the pause and no re-created one paused again, or a
// member that vanished took a snapshot outside the backup's pause window. None may complete.
std::map<std::string, std::string> BackupsThatMustNotComplete(std::string_view text);

}  // namespace brfed::sim

#endif  // BRFED_SIM_AUDIT_H_
