// RateLimiter: a token bucket (client-go's QPS and burst) that makes callers wait for their
// turn. Waiters are served in order within a priority, and every high-priority waiter before
// any normal one, so clients sharing one bucket can keep the requests that must not queue (the
// member writes a GC pause waits for) ahead of the rest without exceeding the bucket's rate.
// Reserve books a token without queueing, for callers that come back when it is due; Busy
// lets a caller that need not write now stay out of the queue.
//
// Thread-safety: safe for concurrent use. The Clock must outlive the limiter; Wait sleeps in
// real time (tests drive Reserve with a fake clock).
#ifndef BRFED_KUBE_RATE_LIMITER_H_
#define BRFED_KUBE_RATE_LIMITER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

#include "core/clock.h"

namespace brfed::kube {

class RateLimiter {
 public:
  enum class Priority { kNormal, kHigh };

  // qps <= 0 disables limiting.
  RateLimiter(double qps, int burst, Clock* clock = RealClock::Get());
  // Takes one token and returns how long the caller must wait before using it.
  std::chrono::nanoseconds Reserve();
  // Blocks until the caller's turn has come and a token is free, then takes it.
  void Wait(Priority priority = Priority::kNormal);
  // nullopt when nobody is waiting and at least max(1, burst x `reserve`) tokens are free, so a
  // request now would leave that share of the burst to others; otherwise about how long until
  // that may be so. Takes nothing.
  std::optional<std::chrono::nanoseconds> Busy(double reserve = 0);
  // Callers blocked in Wait now.
  uint64_t Waiting();

 private:
  void RefillLocked();
  uint64_t WaitingLocked() const;

  std::mutex mu_;
  std::condition_variable turn_;
  double qps_;
  double burst_;
  double tokens_;
  SteadyTime last_;
  Clock* clock_;
  // Tickets handed out and served, per priority.
  uint64_t next_[2] = {0, 0};
  uint64_t served_[2] = {0, 0};
};

}  // namespace brfed::kube

#endif  // BRFED_KUBE_RATE_LIMITER_H_
