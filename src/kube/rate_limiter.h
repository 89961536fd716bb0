// RateLimiter: a token bucket (client-go's QPS and burst) that makes callers wait for their
// turn. Reservations are handed out in order, so concurrent callers share the rate fairly.
//
// Thread-safety: safe for concurrent use. The Clock must outlive the limiter.
#ifndef BRFED_KUBE_RATE_LIMITER_H_
#define BRFED_KUBE_RATE_LIMITER_H_

#include <chrono>
#include <mutex>

#include "core/clock.h"

namespace brfed::kube {

class RateLimiter {
 public:
  // qps <= 0 disables limiting.
  RateLimiter(double qps, int burst, Clock* clock = RealClock::Get());
  // Takes one token and returns how long the caller must wait before using it.
  std::chrono::nanoseconds Reserve();
  // Reserve() and sleep for the returned time.
  void Wait();

 private:
  std::mutex mu_;
  double qps_;
  double burst_;
  double tokens_;
  SteadyTime last_;
  Clock* clock_;
};

}  // namespace brfed::kube

#endif  // BRFED_KUBE_RATE_LIMITER_H_
