// Clock: the one source of time for code that schedules, times out or stamps status, so
// tests can substitute a FakeClock. `Now` is wall time (for status and cron); `Steady` is
// monotonic (for timeouts, backoff and latency).
//
// Thread-safety: all implementations are safe for concurrent use. RealClock::Get() returns a
// process-wide instance that lives forever; a FakeClock is owned by its test.
#ifndef BRFED_CORE_CLOCK_H_
#define BRFED_CORE_CLOCK_H_

#include <chrono>
#include <mutex>

#include "core/time.h"

namespace brfed {

using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  virtual SteadyTime Steady() const = 0;
};

class RealClock final : public Clock {
 public:
  static Clock* Get();
  Time Now() const override { return std::chrono::system_clock::now(); }
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
};

// A clock that only moves when told to. Wall and steady time advance together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Time start = Time(std::chrono::seconds(1700000000)))
      : now_(start), steady_(SteadyTime(std::chrono::hours(1))) {}

  Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  SteadyTime Steady() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return steady_;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += std::chrono::duration_cast<Time::duration>(d);
    steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
  }
  // Sets wall time; steady time moves by the same amount when going forward.
  void SetNow(Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    if (t > now_) steady_ += std::chrono::duration_cast<SteadyTime::duration>(t - now_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  Time now_;
  SteadyTime steady_;
};

}  // namespace brfed

#endif  // BRFED_CORE_CLOCK_H_
