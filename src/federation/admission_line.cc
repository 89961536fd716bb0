#include "federation/admission_line.h"

#include <algorithm>
#include <iterator>

namespace brfed::federation {

AdmissionLine::AdmissionLine(Clock* clock, std::chrono::nanoseconds min_spacing,
                             std::chrono::nanoseconds max_wait,
                             std::chrono::nanoseconds forget_after)
    : clock_(clock),
      min_spacing_(min_spacing),
      max_wait_(max_wait),
      forget_after_(forget_after),
      spacing_(min_spacing) {}

std::chrono::nanoseconds AdmissionLine::Wait(const std::string& key,
                                             std::chrono::nanoseconds wait) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Steady();
  ForgetStaleLocked(now);
  auto [it, joined] = places_.try_emplace(key, Place{next_arrival_, now});
  if (joined) {
    order_.emplace(next_arrival_++, key);
  } else {
    it->second.last_seen = now;
  }
  const auto ahead = std::distance(order_.begin(), order_.find({it->second.arrival, key}));
  return std::max(wait, std::min(spacing_ * ahead, max_wait_));
}

std::optional<std::string> AdmissionLine::Leave(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = places_.find(key);
  if (it == places_.end()) return std::nullopt;
  order_.erase({it->second.arrival, key});
  places_.erase(it);
  const SteadyTime now = clock_->Steady();
  if (last_leave_) {
    // A moving average over about the last five admissions.
    const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(now - *last_leave_);
    spacing_ = std::clamp((spacing_ * 4 + interval) / 5, min_spacing_, max_wait_);
  }
  last_leave_ = now;
  if (order_.empty()) return std::nullopt;
  return order_.begin()->second;
}

std::chrono::nanoseconds AdmissionLine::spacing() {
  std::lock_guard<std::mutex> lock(mu_);
  return spacing_;
}

size_t AdmissionLine::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return places_.size();
}

void AdmissionLine::ForgetStaleLocked(SteadyTime now) {
  for (auto it = places_.begin(); it != places_.end();) {
    if (now - it->second.last_seen < forget_after_) {
      ++it;
      continue;
    }
    order_.erase({it->second.arrival, it->first});
    it = places_.erase(it);
  }
}

}  // namespace brfed::federation
