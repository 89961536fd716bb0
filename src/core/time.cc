#include "core/time.h"

#include <ctime>
#include <limits>
#include <string>
#include <type_traits>

namespace brfed {
namespace {

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
long long DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::string Format(Time t, bool micro) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (micro) {
    auto us = duration_cast<microseconds>(t - secs).count();
    char frac[32];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us));
    out += frac;
  }
  out += 'Z';
  return out;
}

}  // namespace

std::string FormatRfc3339(Time t) { return Format(t, false); }
std::string FormatRfc3339Micro(Time t) { return Format(t, true); }

Result<Time> ParseRfc3339(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid RFC 3339 time \"" + std::string(s) + "\": " + std::string(why));
  };
  int year, month, day, hour, minute, second;
  if (!ParseDigits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' ||
      !ParseDigits(s, 5, 2, &month) || s[7] != '-' || !ParseDigits(s, 8, 2, &day) ||
      (s[10] != 'T' && s[10] != 't') || !ParseDigits(s, 11, 2, &hour) || s[13] != ':' ||
      !ParseDigits(s, 14, 2, &minute) || s[16] != ':' || !ParseDigits(s, 17, 2, &second)) {
    return bad("want 2006-01-02T15:04:05Z07:00");
  }
  if (month < 1 || month > 12) return bad("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return bad("day out of range");
  if (hour > 23) return bad("hour out of range");
  if (minute > 59) return bad("minute out of range");
  if (second > 59) return bad("second out of range");
  size_t pos = 19;
  long long nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    long long scale = 100000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
  }
  if (pos >= s.size()) return bad("missing time zone");
  long long offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("bad time zone offset");
    }
    offset = (oh * 3600LL + om * 60LL) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("bad time zone");
  }
  if (pos != s.size()) return bad("trailing characters");
  long long secs =
      DaysFromCivil(year, month, day) * 86400LL + hour * 3600LL + minute * 60LL + second - offset;
  using namespace std::chrono;
  // A Time holds 64-bit nanoseconds (1677-09-21 to 2262-04-11); found by fuzzing.
  const long long limit = duration_cast<seconds>(Time::duration::max()).count() - 1;
  if (secs < -limit || secs > limit) return bad("outside the years 1678 to 2261");
  return Time(duration_cast<system_clock::duration>(seconds(secs) + nanoseconds(nanos)));
}

std::chrono::nanoseconds Elapsed(Time from, Time to) {
  using Rep = std::chrono::nanoseconds::rep;
  static_assert(std::is_same_v<Time::duration, std::chrono::nanoseconds>);
  Rep out;
  if (__builtin_sub_overflow(to.time_since_epoch().count(), from.time_since_epoch().count(),
                             &out)) {
    out = to > from ? std::numeric_limits<Rep>::max() : std::numeric_limits<Rep>::min();
  }
  return std::chrono::nanoseconds(out);
}

Time ShiftedBy(Time t, std::chrono::nanoseconds d) {
  using Rep = std::chrono::nanoseconds::rep;
  Rep out;
  if (__builtin_add_overflow(t.time_since_epoch().count(), d.count(), &out)) {
    out = d.count() > 0 ? std::numeric_limits<Rep>::max() : std::numeric_limits<Rep>::min();
  }
  return Time(std::chrono::nanoseconds(out));
}

}  // namespace brfed
