// The parts of a decision every protocol shares, and the one Event sink. Each protocol's decide
// (DecideVolumeBackup, DecideRestore, DecideSchedule) returns its decision type built on
// DecisionBase: ordered actions (typed per protocol so the table tests read them), the new
// status, the Events, when to look again, and `decide_again` for "act on nothing more, decide
// again from fresher caches now". The controller lowers the actions to Writes and the Executor
// (executor.h) carries them out.
//
// Thread-safety: plain values; EventSink implementations must be safe for concurrent use.
#ifndef BRFED_FEDERATION_DECISION_H_
#define BRFED_FEDERATION_DECISION_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace brfed::federation {

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

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_DECISION_H_
