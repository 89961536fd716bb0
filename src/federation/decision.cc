#include "federation/decision.h"

namespace brfed::federation {

void DecisionBase::RequeueWithin(std::chrono::nanoseconds after) {
  if (after <= std::chrono::nanoseconds::zero()) after = std::chrono::milliseconds(1);
  if (!requeue_after || after < *requeue_after) requeue_after = after;
}

void DecisionBase::AddEvent(std::string type, std::string reason, std::string message) {
  events.push_back({std::move(type), std::move(reason), std::move(message)});
}

}  // namespace brfed::federation
