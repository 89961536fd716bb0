#include "federation/decision.h"

#include <nlohmann/json.hpp>

#include "api/conditions.h"
#include "core/strings.h"

namespace brfed::federation {

void DecisionBase::RequeueWithin(std::chrono::nanoseconds after) {
  if (after <= std::chrono::nanoseconds::zero()) after = std::chrono::milliseconds(1);
  if (!requeue_after || after < *requeue_after) requeue_after = after;
}

void DecisionBase::AddEvent(std::string type, std::string reason, std::string message) {
  events.push_back({std::move(type), std::move(reason), std::move(message)});
}

void ReportUnreachableDataPlanes(Json& status, const std::vector<std::string>& down,
                                 std::string_view consequence, Time now,
                                 std::chrono::nanoseconds retry, DecisionBase& decision) {
  const std::string type(kDataPlaneUnreachableCondition);
  if (down.empty()) {
    if (api::IsConditionTrue(status, type)) {
      api::SetSideCondition(status, {type, "False", "Reachable", "every data plane answers again"},
                            now);
    }
    return;
  }
  const std::string message = "data plane unreachable: " + Join(down, "; ") + " (" +
                              std::string(consequence) + "; retrying)";
  if (!api::IsConditionTrue(status, type)) decision.AddEvent("Warning", type, message);
  api::SetSideCondition(status, {type, "True", "ProbeFailed", message}, now);
  decision.RequeueWithin(retry);
}

}  // namespace brfed::federation
