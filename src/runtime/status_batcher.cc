#include "runtime/status_batcher.h"

#include <algorithm>

namespace brfed::runtime {

StatusBatcher::StatusBatcher(Clock* clock, std::chrono::nanoseconds window,
                             std::chrono::nanoseconds max_window)
    : clock_(clock), window_(window), max_window_(std::max(window, max_window)) {}

std::optional<std::chrono::nanoseconds> StatusBatcher::Hold(const std::string& object) {
  if (window_.count() <= 0) return std::nullopt;
  const SteadyTime now = clock_->Steady();
  std::lock_guard<std::mutex> lock(mu_);
  Batch& batch =
      batches_.try_emplace(object, Batch{std::nullopt, window_, std::nullopt}).first->second;
  if (!batch.opened) {
    batch.opened = now;
    return batch.window;
  }
  const auto waited = now - *batch.opened;
  if (waited >= batch.window) return std::nullopt;
  return batch.window - waited;
}

std::optional<std::chrono::nanoseconds> StatusBatcher::Book(
    const std::string& object, const std::function<std::chrono::nanoseconds()>& reserve) {
  const SteadyTime now = clock_->Steady();
  std::lock_guard<std::mutex> lock(mu_);
  Batch& batch =
      batches_.try_emplace(object, Batch{std::nullopt, window_, std::nullopt}).first->second;
  if (!batch.token_due) {
    const std::chrono::nanoseconds wait = reserve();
    if (wait.count() <= 0) return std::nullopt;
    batch.token_due = now + wait;
    return wait;
  }
  if (now >= *batch.token_due) {
    batch.token_due.reset();
    return std::nullopt;
  }
  return *batch.token_due - now;
}

void StatusBatcher::Written(const std::string& object, bool deferrable) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = batches_.find(object);
  if (!deferrable) {
    if (it != batches_.end()) batches_.erase(it);
    return;
  }
  if (it == batches_.end()) {
    it = batches_.try_emplace(object, Batch{std::nullopt, window_, std::nullopt}).first;
  }
  it->second.opened.reset();
  it->second.token_due.reset();
  it->second.window = std::min(it->second.window * 2, max_window_);
}

}  // namespace brfed::runtime
