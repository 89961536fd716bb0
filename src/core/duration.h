// Go durations, exactly as Go's time.ParseDuration and time.Duration.String handle them
// ("1h30m0s", "1.5s", "-2m3s", "300ms", "0s"), as used by `maxReservedTime`, `timeTaken`
// and the manager's flags.
//
// Thread-safety: pure functions.
#ifndef BRFED_CORE_DURATION_H_
#define BRFED_CORE_DURATION_H_

#include <chrono>
#include <string>
#include <string_view>

#include "core/status.h"

namespace brfed {

// Go's ParseDuration: a signed sequence of decimal numbers with optional fraction and a unit
// (ns, us, µs, μs, ms, s, m, h). "0" alone is allowed. Overflow and garbage are
// kInvalidArgument errors mentioning the input, as Go words them.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// Go's Duration.String.
std::string FormatGoDuration(std::chrono::nanoseconds d);

// Go's Duration.Round(m): rounds halfway values away from zero; m <= 0 returns d unchanged.
std::chrono::nanoseconds RoundGoDuration(std::chrono::nanoseconds d, std::chrono::nanoseconds m);

}  // namespace brfed

#endif  // BRFED_CORE_DURATION_H_
