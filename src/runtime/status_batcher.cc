#include "runtime/status_batcher.h"

namespace brfed::runtime {

StatusBatcher::StatusBatcher(Clock* clock, std::chrono::nanoseconds window)
    : clock_(clock), window_(window) {}

std::optional<std::chrono::nanoseconds> StatusBatcher::Hold(const std::string& object) {
  if (window_.count() <= 0) return std::nullopt;
  const SteadyTime now = clock_->Steady();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, opened] = opened_.try_emplace(object, now);
  const auto waited = now - it->second;
  if (!opened && waited >= window_) return std::nullopt;
  return window_ - waited;
}

void StatusBatcher::Written(const std::string& object) {
  std::lock_guard<std::mutex> lock(mu_);
  opened_.erase(object);
}

}  // namespace brfed::runtime
