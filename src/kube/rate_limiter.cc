#include "kube/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace brfed::kube {

RateLimiter::RateLimiter(double qps, int burst, Clock* clock)
    : qps_(qps),
      burst_(std::max(1, burst)),
      tokens_(std::max(1, burst)),
      last_(clock->Steady()),
      clock_(clock) {}

std::chrono::nanoseconds RateLimiter::Reserve() {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  SteadyTime now = clock_->Steady();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;  // may go negative: the debt is this caller's wait
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<long long>(-tokens_ / qps_ * 1e9));
}

void RateLimiter::Wait() {
  auto d = Reserve();
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

}  // namespace brfed::kube
