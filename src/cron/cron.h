// CronSchedule: a cron expression parsed with the semantics of robfig/cron v3 `ParseStandard`
// (what the Go br-federation-manager uses for VolumeBackupSchedule.spec.schedule), and its
// next-activation calculator.
//
// Accepted: five whitespace-separated fields (minute hour day-of-month month day-of-week;
// seconds are always 0), each a comma list of `*`, `?`, `N`, `N-M`, optionally `/step`, with
// case-insensitive month and weekday names; the descriptors @yearly, @annually, @monthly,
// @weekly, @daily, @midnight, @hourly and `@every <Go duration>`; and an optional
// `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix. Errors use robfig's wording. One deliberate
// difference: robfig panics on a zone prefix with no following space (`TZ=UTC`); this parser
// returns an error instead.
//
// Next() reproduces robfig's field-by-field walk, including its DST behaviour (a job inside a
// spring-forward gap is skipped that day; a job inside a fall-back overlap runs at both
// instants) and its five-year search limit.
//
// Thread-safety: a CronSchedule is an immutable value; Next may be called concurrently.
#ifndef BRFED_CRON_CRON_H_
#define BRFED_CRON_CRON_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/time.h"
#include "cron/tz.h"

namespace brfed::cron {

class CronSchedule {
 public:
  // robfig/cron v3 ParseStandard. Errors are kInvalidArgument with robfig's message.
  static Result<CronSchedule> Parse(std::string_view spec);

  // The first activation strictly after `t` (at whole seconds), or nullopt when there is none
  // within five years (robfig returns the zero time then, e.g. for "0 0 30 2 *").
  std::optional<Time> Next(Time t) const;

  // True for `@every`: the schedule is a constant delay, independent of the time zone.
  bool is_constant_delay() const { return every_.has_value(); }
  // The zone the fields are evaluated in (Local when no prefix was given).
  const TimeZone& zone() const { return *zone_; }

 private:
  CronSchedule() = default;
  bool DayMatches(const CivilTime& c) const;
  // Parse's parts: a TZ=/CRON_TZ= prefix (consumed from spec), and an @descriptor.
  static Status ParseZonePrefix(std::string_view& spec, CronSchedule& s);
  static Status ParseDescriptor(std::string_view spec, CronSchedule& s);

  // Bit sets as in robfig: bit n set when value n matches; bit 63 marks a `*`/`?` field.
  uint64_t second_ = 1, minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;
  std::shared_ptr<const TimeZone> zone_;
  std::optional<std::chrono::seconds> every_;
};

}  // namespace brfed::cron

#endif  // BRFED_CRON_CRON_H_
