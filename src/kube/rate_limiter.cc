#include "kube/rate_limiter.h"

#include <algorithm>

namespace brfed::kube {

RateLimiter::RateLimiter(double qps, int burst, Clock* clock)
    : qps_(qps),
      burst_(std::max(1, burst)),
      tokens_(std::max(1, burst)),
      last_(clock->Steady()),
      clock_(clock) {}

void RateLimiter::RefillLocked() {
  SteadyTime now = clock_->Steady();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
}

std::chrono::nanoseconds RateLimiter::Reserve() {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  tokens_ -= 1;  // may go negative: the debt is this caller's wait
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<long long>(-tokens_ / qps_ * 1e9));
}

std::optional<std::chrono::nanoseconds> RateLimiter::Busy(double reserve) {
  if (qps_ <= 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  const double needed = std::max(1.0, burst_ * std::clamp(reserve, 0.0, 1.0));
  const uint64_t waiting = WaitingLocked();
  if (waiting == 0 && tokens_ >= needed) return std::nullopt;
  const double tokens_short = static_cast<double>(waiting) + needed - tokens_;
  return std::chrono::nanoseconds(static_cast<long long>(std::max(1.0, tokens_short) / qps_ * 1e9));
}

uint64_t RateLimiter::Waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return WaitingLocked();
}

uint64_t RateLimiter::WaitingLocked() const {
  return (next_[0] - served_[0]) + (next_[1] - served_[1]);
}

void RateLimiter::Wait(Priority priority) {
  if (qps_ <= 0) return;
  const int p = priority == Priority::kHigh ? 1 : 0;
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t ticket = next_[p]++;
  const auto per_token = std::chrono::nanoseconds(static_cast<long long>(1e9 / qps_));
  for (;;) {
    RefillLocked();
    // A normal waiter's turn comes only when no high-priority waiter is left.
    const bool turn = served_[p] == ticket && (p == 1 || served_[1] == next_[1]);
    if (turn && tokens_ >= 1) {
      tokens_ -= 1;
      ++served_[p];
      turn_.notify_all();
      return;
    }
    // Until the next token (or, with one free but not ours, until its taker wakes us; a
    // newly arrived high-priority waiter may take it, which wakes us too).
    const auto until_token =
        tokens_ >= 1 ? per_token
                     : std::chrono::nanoseconds(static_cast<long long>((1 - tokens_) / qps_ * 1e9));
    turn_.wait_for(lock, std::max(until_token, std::chrono::nanoseconds(100000)));
  }
}

}  // namespace brfed::kube
