// TimeZone: an IANA time zone read from the system tz database (TZif files under
// /usr/share/zoneinfo, RFC 8536, including the POSIX TZ footer that "slim" files rely on for
// future dates), plus civil-time conversion with Go's time.Date semantics. It exists so the
// cron schedule can evaluate `TZ=`/`CRON_TZ=` prefixes without touching the process-wide TZ
// variable (localtime_r with a swapped TZ is not thread-safe).
//
// Thread-safety: a loaded TimeZone is immutable and shared (`shared_ptr<const TimeZone>`);
// Load and Local may be called from any thread (a mutex guards the process-wide cache).
// Ownership: zones live in the cache for the life of the process.
#ifndef BRFED_CRON_TZ_H_
#define BRFED_CRON_TZ_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace brfed::cron {

// A broken-down wall-clock time. Fields may be out of range when passed to
// TimeZone::FromCivil, which normalises them as Go's time.Date does (month 13 is January of
// the next year, day 0 is the last day of the previous month, and so on).
struct CivilTime {
  int64_t year = 1970;
  int64_t month = 1;  // 1..12
  int64_t day = 1;    // 1..31
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t second = 0;
  int weekday = 4;  // 0 = Sunday; filled in by ToCivil only

  bool operator==(const CivilTime& o) const {
    return year == o.year && month == o.month && day == o.day && hour == o.hour &&
           minute == o.minute && second == o.second;
  }
};

class TimeZone {
 public:
  // One local-time type of the zone: UTC offset in seconds east of UTC, DST flag, abbreviation.
  struct Type {
    int32_t offset = 0;
    bool is_dst = false;
    std::string abbreviation;
  };

  // A rule-based zone description from a POSIX TZ string (the TZif footer), e.g.
  // "EST5EDT,M3.2.0,M11.1.0". Public so it can be tested on its own.
  struct PosixRule {
    Type standard;
    bool has_dst = false;
    Type daylight;
    // A transition date: kind 'J' (Jn, 1..365, no Feb 29), 'N' (n, 0..365), or 'M' (Mm.w.d).
    struct Date {
      char kind = 'M';
      int day = 0;          // J/N: the day; M: weekday 0..6
      int week = 0;         // M: 1..5 (5 = last)
      int month = 0;        // M: 1..12
      int32_t time = 7200;  // seconds after local midnight (may be negative or above 24h)
    };
    Date start;  // std -> dst, in local standard time
    Date end;    // dst -> std, in local daylight time
  };

  // Go's time.LoadLocation: "" and "UTC" are UTC, "Local" is the process's zone (TZ
  // variable, else /etc/localtime, else UTC), anything else an IANA name read from
  // $ZONEINFO or /usr/share/zoneinfo. Names with "..", or starting with '/' or '\', are
  // rejected ("time: invalid location name"); missing zones give "unknown time zone <name>".
  static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name);
  static std::shared_ptr<const TimeZone> Utc();
  static std::shared_ptr<const TimeZone> Local();

  // Parses TZif bytes (versions 1 to 4). `name` is only for messages and name().
  static Result<std::shared_ptr<const TimeZone>> FromTzif(std::string name, std::string_view data);
  // Parses a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3" or "<-03>3".
  static Result<PosixRule> ParsePosixRule(std::string_view text);

  const std::string& name() const { return name_; }

  // The local-time type in effect at the instant `unix_seconds`.
  const Type& TypeAt(int64_t unix_seconds) const;
  int32_t OffsetAt(int64_t unix_seconds) const { return TypeAt(unix_seconds).offset; }

  // Wall-clock fields at an instant.
  CivilTime ToCivil(int64_t unix_seconds) const;
  // Go's time.Date: normalises the fields, then picks the offset as Go does. A wall time in a
  // DST gap or overlap therefore resolves exactly as in Go (which robfig/cron depends on).
  int64_t FromCivil(const CivilTime& civil) const;

 private:
  TimeZone() = default;

  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<uint8_t> transition_types_;
  std::vector<Type> types_;
  bool has_rule_ = false;
  PosixRule rule_;
};

// Days since 1970-01-01 of a proleptic Gregorian date (month and day already normalised).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day);

}  // namespace brfed::cron

#endif  // BRFED_CRON_TZ_H_
