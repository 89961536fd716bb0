#include "runtime/backoff.h"

#include <algorithm>

namespace brfed::runtime {

Backoff::Backoff(BackoffOptions options, uint64_t seed) : options_(options), rng_(seed) {}

std::chrono::nanoseconds Backoff::Next(SteadyTime now) {
  if (last_ && now - *last_ >= options_.reset_after) current_ = std::chrono::nanoseconds(0);
  last_ = now;
  if (current_.count() == 0) {
    current_ = options_.initial;
  } else {
    auto next = std::chrono::nanoseconds(
        static_cast<long long>(static_cast<double>(current_.count()) * options_.factor));
    current_ = std::min(next, options_.max);
  }
  if (options_.jitter <= 0) return current_;
  std::uniform_real_distribution<double> dist(1.0 - std::min(options_.jitter, 1.0), 1.0);
  return std::chrono::nanoseconds(
      static_cast<long long>(static_cast<double>(current_.count()) * dist(rng_)));
}

void Backoff::Reset() {
  current_ = std::chrono::nanoseconds(0);
  last_.reset();
}

}  // namespace brfed::runtime
