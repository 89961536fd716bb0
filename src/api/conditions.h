// Condition helpers shared by every kind we read or write (VolumeBackup, VolumeRestore,
// pingcap.com Backup and Restore): find a condition in `status.conditions[]`, test it, and set
// it the way the federation's condition writer does upstream.
//
// All functions take the object's `status` (which may be null or missing), never the whole
// object, so they work for any kind. Objects stay JSON: unknown fields of a condition survive.
//
// Thread-safety: pure functions over caller-owned values.
#ifndef BRFED_API_CONDITIONS_H_
#define BRFED_API_CONDITIONS_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/time.h"

namespace brfed::api {

inline constexpr std::string_view kConditionTrue = "True";
inline constexpr std::string_view kConditionFalse = "False";

struct Condition {
  std::string type;
  std::string status = std::string(kConditionTrue);
  std::string reason;
  std::string message;
};

// The `status` of `object`, or a null JSON value when it has none.
const Json& StatusOf(const Json& object);

// The entry of `type` in `status.conditions[]`, or nullptr.
const Json* FindCondition(const Json& status, std::string_view type);

// True when the condition `type` is present with status "True".
bool IsConditionTrue(const Json& status, std::string_view type);

// The condition's lastTransitionTime, when present and parseable.
std::optional<Time> ConditionTransitionTime(const Json& status, std::string_view type);

// The condition's reason and message ("" when absent).
std::string ConditionReason(const Json& status, std::string_view type);
std::string ConditionMessage(const Json& status, std::string_view type);

// Sets `condition` in `status` (made an object if it is not one) with the federation writer's
// rules: `phase` becomes the condition type; a new type is appended; an existing entry gets the
// new status, reason and message, and keeps its lastTransitionTime when the status did not
// change. Returns true when `status` changed.
bool SetCondition(Json& status, const Condition& condition, Time now);
// The same for a condition that is not a phase (brfed's own, such as DataPlaneUnreachable):
// status.phase is left as it is.
bool SetSideCondition(Json& status, const Condition& condition, Time now);

}  // namespace brfed::api

#endif  // BRFED_API_CONDITIONS_H_
