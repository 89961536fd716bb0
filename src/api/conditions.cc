#include "api/conditions.h"

#include <nlohmann/json.hpp>

namespace brfed::api {

const Json& StatusOf(const Json& object) {
  static const Json kNull;
  const Json* status = JsonAt(object, {"status"});
  return status != nullptr ? *status : kNull;
}

const Json* FindCondition(const Json& status, std::string_view type) {
  const Json* conditions = JsonAt(status, {"conditions"});
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const Json& c : *conditions) {
    if (c.is_object() && JsonStringAt(c, {"type"}) == type) return &c;
  }
  return nullptr;
}

bool IsConditionTrue(const Json& status, std::string_view type) {
  const Json* c = FindCondition(status, type);
  return c != nullptr && JsonStringAt(*c, {"status"}) == kConditionTrue;
}

std::optional<Time> ConditionTransitionTime(const Json& status, std::string_view type) {
  const Json* c = FindCondition(status, type);
  if (c == nullptr) return std::nullopt;
  auto t = ParseRfc3339(JsonStringAt(*c, {"lastTransitionTime"}));
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::string ConditionReason(const Json& status, std::string_view type) {
  const Json* c = FindCondition(status, type);
  return c == nullptr ? "" : JsonStringAt(*c, {"reason"});
}

std::string ConditionMessage(const Json& status, std::string_view type) {
  const Json* c = FindCondition(status, type);
  return c == nullptr ? "" : JsonStringAt(*c, {"message"});
}

bool SetSideCondition(Json& status, const Condition& condition, Time now) {
  const Json before = status;
  SetCondition(status, condition, now);
  if (const Json* phase = JsonAt(before, {"phase"}); phase != nullptr) {
    status["phase"] = *phase;
  } else {
    status.erase("phase");
  }
  return status != before;
}

bool SetCondition(Json& status, const Condition& condition, Time now) {
  if (!status.is_object()) status = Json::object();
  bool changed = false;
  if (JsonStringAt(status, {"phase"}) != condition.type) {
    status["phase"] = condition.type;
    changed = true;
  }
  Json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  for (Json& c : conditions) {
    if (!c.is_object() || JsonStringAt(c, {"type"}) != condition.type) continue;
    if (JsonStringAt(c, {"status"}) != condition.status) {
      c["status"] = condition.status;
      c["lastTransitionTime"] = FormatRfc3339(now);
      changed = true;
    }
    if (JsonStringAt(c, {"reason"}) != condition.reason) {
      c["reason"] = condition.reason;
      changed = true;
    }
    if (JsonStringAt(c, {"message"}) != condition.message) {
      c["message"] = condition.message;
      changed = true;
    }
    return changed;
  }
  Json entry = {{"type", condition.type},
                {"status", condition.status},
                {"lastTransitionTime", FormatRfc3339(now)}};
  if (!condition.reason.empty()) entry["reason"] = condition.reason;
  if (!condition.message.empty()) entry["message"] = condition.message;
  conditions.push_back(std::move(entry));
  return true;
}

}  // namespace brfed::api
