// Backoff: exponential delays with full-range jitter and a reset after a healthy period, as
// client-go's reflector uses for watches (0.8 s to 30 s, factor 2, reset after 2 minutes).
//
// Thread-safety: not thread-safe; owned by one state machine or one queue entry.
#ifndef BRFED_RUNTIME_BACKOFF_H_
#define BRFED_RUNTIME_BACKOFF_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "core/clock.h"

namespace brfed::runtime {

struct BackoffOptions {
  std::chrono::nanoseconds initial = std::chrono::milliseconds(800);
  std::chrono::nanoseconds max = std::chrono::seconds(30);
  double factor = 2.0;
  // Each delay is drawn from [d * (1 - jitter), d]; 0 disables jitter.
  double jitter = 0.5;
  // A Next() more than this long after the previous one starts from `initial` again.
  std::chrono::nanoseconds reset_after = std::chrono::minutes(2);
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options = {}, uint64_t seed = std::random_device{}());
  // The next delay; `now` decides whether the healthy period has reset the sequence.
  std::chrono::nanoseconds Next(SteadyTime now);
  void Reset();

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  std::chrono::nanoseconds current_{0};
  std::optional<SteadyTime> last_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_BACKOFF_H_
