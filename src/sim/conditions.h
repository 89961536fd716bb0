// Writes to a data-plane Backup or Restore as TiDB Operator makes them: one condition per write
// following the contract's a.7 rules (Backup moves `phase` back when an older condition is
// re-asserted; Restore does not persist an identical condition), plus status fields that are
// applied only when different, plus finalizer changes.
//
// Thread-safety: pure functions over caller-owned values. (Simulator-internal header: it
// includes nlohmann/json.hpp, which no other layer includes.)
#ifndef BRFED_SIM_CONDITIONS_H_
#define BRFED_SIM_CONDITIONS_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/time.h"

namespace brfed::sim {

struct Condition {
  std::string type;
  std::string status = "True";
  std::string reason;
  std::string message;
};

// One write the simulator wants on a member object.
struct MemberWrite {
  std::optional<Condition> condition;
  Json status_fields = Json::object();  // merged into .status; fields applied when different
  std::string add_finalizer;
  std::string remove_finalizer;
};

enum class MemberKind { kBackup, kRestore };

// Applies `w` to `obj` at `now`. Returns true when the object changed (a write is needed).
// `timeTaken` is recomputed whenever `timeCompleted` is written.
bool ApplyMemberWrite(MemberKind kind, Json& obj, const MemberWrite& w, Time now);

// `status.conditions[]` holds `type` with status "True".
bool IsTrue(const Json& obj, std::string_view type);
// The condition entry of `type`, or nullptr.
const Json* FindCondition(const Json& obj, std::string_view type);

}  // namespace brfed::sim

#endif  // BRFED_SIM_CONDITIONS_H_
