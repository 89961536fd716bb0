#include "sim/conditions.h"

#include "api/metadata.h"
#include "core/duration.h"

namespace brfed::sim {

namespace {

Json& ConditionsOf(Json& status) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) {
    status["conditions"] = Json::array();
  }
  return status["conditions"];
}

Json ConditionEntry(const Condition& c, const std::string& ts) {
  Json e = {{"type", c.type}, {"status", c.status}, {"lastTransitionTime", ts}};
  if (!c.reason.empty()) e["reason"] = c.reason;
  if (!c.message.empty()) e["message"] = c.message;
  return e;
}

// a.7, Backup: phase follows every write except Restart, even when the entry is unchanged.
bool ApplyBackupCondition(Json& status, const Condition& c, const std::string& ts) {
  bool phase_changed = c.type != "Restart" && JsonStringAt(status, {"phase"}) != c.type;
  if (phase_changed) status["phase"] = c.type;
  Json& conds = ConditionsOf(status);
  for (Json& e : conds) {
    if (JsonStringAt(e, {"type"}) != c.type) continue;
    if (phase_changed) {
      e = ConditionEntry(c, ts);
      return true;
    }
    Json next = ConditionEntry(c, ts);
    if (JsonStringAt(e, {"status"}) == c.status) {
      next["lastTransitionTime"] = e.value("lastTransitionTime", ts);
    }
    if (next == e) return false;
    e = std::move(next);
    return true;
  }
  conds.push_back(ConditionEntry(c, ts));
  return true;
}

// a.7, Restore: phase moves in memory only; an identical entry is not persisted.
bool ApplyRestoreCondition(Json& status, const Condition& c, const std::string& ts) {
  Json& conds = ConditionsOf(status);
  for (Json& e : conds) {
    if (JsonStringAt(e, {"type"}) != c.type) continue;
    Json next = ConditionEntry(c, ts);
    if (JsonStringAt(e, {"status"}) == c.status) {
      next["lastTransitionTime"] = e.value("lastTransitionTime", ts);
    }
    if (next == e) return false;
    e = std::move(next);
    status["phase"] = c.type;
    return true;
  }
  conds.push_back(ConditionEntry(c, ts));
  status["phase"] = c.type;
  return true;
}

void RecomputeTimeTaken(Json& status) {
  auto started = ParseRfc3339(JsonStringAt(status, {"timeStarted"}));
  auto completed = ParseRfc3339(JsonStringAt(status, {"timeCompleted"}));
  if (!completed.ok()) return;
  // Q8: a zero timeStarted (never set) gives a saturated duration, as Go's Sub does.
  std::chrono::nanoseconds d = std::chrono::nanoseconds::max();
  if (started.ok()) d = *completed - *started;
  status["timeTaken"] = FormatGoDuration(RoundGoDuration(d, std::chrono::seconds(1)));
}

}  // namespace

bool ApplyMemberWrite(MemberKind kind, Json& obj, const MemberWrite& w, Time now) {
  bool changed = false;
  if (!obj.contains("status") || !obj["status"].is_object()) obj["status"] = Json::object();
  Json& status = obj["status"];
  if (w.status_fields.is_object()) {
    for (const auto& [k, v] : w.status_fields.items()) {
      if (!status.contains(k) || status[k] != v) {
        status[k] = v;
        changed = true;
      }
    }
    if (w.status_fields.contains("timeCompleted")) {
      Json before = status.value("timeTaken", Json());
      RecomputeTimeTaken(status);
      changed = changed || status.value("timeTaken", Json()) != before;
    }
  }
  if (w.condition) {
    std::string ts = FormatRfc3339(now);
    bool wrote = kind == MemberKind::kBackup ? ApplyBackupCondition(status, *w.condition, ts)
                                             : ApplyRestoreCondition(status, *w.condition, ts);
    changed = changed || wrote;
  }
  if (!w.remove_finalizer.empty() && api::HasFinalizer(obj, w.remove_finalizer)) {
    obj["metadata"]["finalizers"] = api::FinalizersWith(obj, w.remove_finalizer, false);
    changed = true;
  }
  if (!w.add_finalizer.empty() && !api::HasFinalizer(obj, w.add_finalizer)) {
    obj["metadata"]["finalizers"] = api::FinalizersWith(obj, w.add_finalizer, true);
    changed = true;
  }
  return changed;
}

const Json* FindCondition(const Json& obj, std::string_view type) {
  const Json* conds = JsonAt(obj, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return nullptr;
  for (const Json& c : *conds) {
    if (JsonStringAt(c, {"type"}) == type) return &c;
  }
  return nullptr;
}

bool IsTrue(const Json& obj, std::string_view type) {
  const Json* c = FindCondition(obj, type);
  return c != nullptr && JsonStringAt(*c, {"status"}) == "True";
}

}  // namespace brfed::sim
