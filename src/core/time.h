// Wall-clock time as Kubernetes writes it: RFC 3339 with second precision and `Z`
// (metav1.Time), plus a parser that accepts what Go's time.RFC3339 accepts.
//
// Thread-safety: pure functions.
#ifndef BRFED_CORE_TIME_H_
#define BRFED_CORE_TIME_H_

#include <chrono>
#include <string>
#include <string_view>

#include "core/status.h"

namespace brfed {

using Time = std::chrono::system_clock::time_point;

// "2006-01-02T15:04:05Z" (UTC, fraction truncated).
std::string FormatRfc3339(Time t);

// "2006-01-02T15:04:05.000000Z" (microseconds; MicroTime, as Events and Leases use).
std::string FormatRfc3339Micro(Time t);

// Accepts "2006-01-02T15:04:05Z", an optional fraction, and "+hh:mm"/"-hh:mm" offsets.
// Errors are kInvalidArgument naming the input.
Result<Time> ParseRfc3339(std::string_view text);

// `to - from`, saturated at the bounds of nanoseconds. Parsed times span the years 1678 to 2261,
// a range whose width a 64-bit count of nanoseconds cannot hold (found by fuzzing), so every
// difference that involves a time read from an object goes through here.
std::chrono::nanoseconds Elapsed(Time from, Time to);

// `t + d`, saturated at the bounds of Time, for the same reason.
Time ShiftedBy(Time t, std::chrono::nanoseconds d);

}  // namespace brfed

#endif  // BRFED_CORE_TIME_H_
