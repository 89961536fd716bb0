// The shape of a decision every protocol shares, and the one Event sink. Each protocol's decide
// (DecideVolumeBackup, DecideRestore, DecideSchedule) returns a decision built on DecisionBase:
// the Events, when to look again, and `decide_again` for "act on nothing more, decide again from
// fresher caches now". The backup and restore decisions are `Decision<Action>`: ordered actions,
// typed per protocol so the table tests read them. Each adds its new status in the form its
// status takes (a merge patch, a typed status, a whole status) and the facts its metrics need.
// The controller lowers the actions to Writes and the Executor (executor.h) carries them out.
//
// The schedule decision is the one exception to `Decision<Action>`: it holds at most one create
// and one retention delete as fields, because its controller wraps the create in a group claim
// (schedule_controller.h) and writes create, delete, status in that fixed order.
//
// Thread-safety: plain values; EventSink implementations must be safe for concurrent use.
#ifndef BRFED_FEDERATION_DECISION_H_
#define BRFED_FEDERATION_DECISION_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/time.h"

namespace brfed::federation {

// A member (Backup or Restore) whose VolumeBackup or VolumeRestore no longer exists, as a
// member cache shows it, and the cluster it is in: what the orphan decisions take.
struct OrphanedMember {
  std::string cluster;
  std::shared_ptr<const Json> member;
};

// A Kubernetes Event about the reconciled object.
struct Event {
  std::string type;  // "Normal" or "Warning"
  std::string reason;
  std::string message;
  bool operator==(const Event&) const = default;
};

// Receives Events about an object (the manager adapts runtime::EventRecorder; tests record).
using EventSink = std::function<void(const Json& object, std::string_view type,
                                     std::string_view reason, std::string_view message)>;

struct DecisionBase {
  std::vector<Event> events;
  // When to look again without an event; nullopt = on events only (and the resync net).
  std::optional<std::chrono::nanoseconds> requeue_after;
  // Decide again now from fresher caches instead of acting (rate limited by the queue).
  bool decide_again = false;

  // Keeps the earliest requeue asked for; `after` <= 0 means "as soon as possible" (1 ms, so
  // the queue still sees a delay rather than none).
  void RequeueWithin(std::chrono::nanoseconds after);
  void AddEvent(std::string type, std::string reason, std::string message);
};

// A decision whose writes are a list of actions of the protocol's `Action` type.
template <typename Action>
struct Decision : DecisionBase {
  // In execution order: the Executor stops at the first that fails.
  std::vector<Action> actions;
};

// Condition on a VolumeBackup, VolumeRestore and VolumeBackupSchedule: True (reason
// ProbeFailed) naming every data plane it needs that the manager cannot reach, and its last
// error; False (reason Reachable) once all answer again.
inline constexpr std::string_view kDataPlaneUnreachableCondition = "DataPlaneUnreachable";

// DataPlaneUnreachable on a status held as JSON (VolumeBackup, VolumeBackupSchedule). `down`
// holds "cluster <c>: <last error>" for each data plane the object needs that the manager's
// probe counts unreachable. Non-empty: the condition is True with a message naming them and
// `consequence` ("member status may be stale"), a Warning Event when it becomes True, and a
// look again within `retry`. Empty: the condition becomes False when it was True. It is never
// a phase (api::SetSideCondition).
void ReportUnreachableDataPlanes(Json& status, const std::vector<std::string>& down,
                                 std::string_view consequence, Time now,
                                 std::chrono::nanoseconds retry, DecisionBase& decision);

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_DECISION_H_
