#include "cron/cron.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "core/duration.h"

namespace brfed::cron {
namespace {

constexpr uint64_t kStarBit = uint64_t{1} << 63;

struct Bounds {
  uint64_t min;
  uint64_t max;
  const char* const* names;  // nullptr, or max-min+1 lower-case names for min..max
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDowNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr Bounds kMinutes{0, 59, nullptr};
constexpr Bounds kHours{0, 23, nullptr};
constexpr Bounds kDom{1, 31, nullptr};
constexpr Bounds kMonths{1, 12, kMonthNames};
constexpr Bounds kDow{0, 6, kDowNames};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Go's strings.Split: always at least one element.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// Go's fmt "%s" of a []string: "[a b c]".
std::string FormatList(const std::vector<std::string_view>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ' ';
    out += items[i];
  }
  return out + "]";
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// robfig's mustParseInt: Go's strconv.Atoi, then a check for negatives.
Result<uint64_t> MustParseInt(std::string_view expr) {
  const std::string prefix = "failed to parse int from " + std::string(expr) + ": ";
  std::string_view digits = expr;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument(prefix + "strconv.Atoi: parsing " + Quote(expr) + ": invalid syntax");
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (ec != std::errc() || ptr != digits.data() + digits.size() || magnitude > limit) {
    return InvalidArgument(prefix + "strconv.Atoi: parsing " + Quote(expr) +
                           ": value out of range");
  }
  if (negative && magnitude != 0) {
    return InvalidArgument("negative number (-" + std::to_string(magnitude) +
                           ") not allowed: " + std::string(expr));
  }
  return magnitude;
}

Result<uint64_t> ParseIntOrName(std::string_view expr, const Bounds& b) {
  if (b.names != nullptr) {
    std::string lower(expr);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (uint64_t v = b.min; v <= b.max; ++v) {
      if (lower == b.names[v - b.min]) return v;
    }
  }
  return MustParseInt(expr);
}

uint64_t Bits(uint64_t min, uint64_t max, uint64_t step) {
  uint64_t bits = 0;
  for (uint64_t i = min; i <= max; i += step) bits |= uint64_t{1} << i;
  return bits;
}

uint64_t All(const Bounds& b) { return Bits(b.min, b.max, 1) | kStarBit; }

Result<uint64_t> ParseRange(std::string_view expr, const Bounds& b) {
  std::vector<std::string_view> range_and_step = Split(expr, '/');
  std::vector<std::string_view> low_and_high = Split(range_and_step[0], '-');
  const bool single = low_and_high.size() == 1;
  uint64_t start = 0, end = 0, step = 1, extra = 0;
  if (low_and_high[0] == "*" || low_and_high[0] == "?") {
    // As in robfig, anything after "*-" is ignored.
    start = b.min;
    end = b.max;
    extra = kStarBit;
  } else {
    BRFED_ASSIGN_OR_RETURN(start, ParseIntOrName(low_and_high[0], b));
    if (low_and_high.size() == 1) {
      end = start;
    } else if (low_and_high.size() == 2) {
      BRFED_ASSIGN_OR_RETURN(end, ParseIntOrName(low_and_high[1], b));
    } else {
      return InvalidArgument("too many hyphens: " + std::string(expr));
    }
  }
  if (range_and_step.size() == 2) {
    BRFED_ASSIGN_OR_RETURN(step, MustParseInt(range_and_step[1]));
    if (single) end = b.max;  // "N/step" means "N-max/step"
    if (step > 1) extra = 0;
  } else if (range_and_step.size() > 2) {
    return InvalidArgument("too many slashes: " + std::string(expr));
  }
  const std::string e(expr);
  if (start < b.min) {
    return InvalidArgument("beginning of range (" + std::to_string(start) + ") below minimum (" +
                           std::to_string(b.min) + "): " + e);
  }
  if (end > b.max) {
    return InvalidArgument("end of range (" + std::to_string(end) + ") above maximum (" +
                           std::to_string(b.max) + "): " + e);
  }
  if (start > end) {
    return InvalidArgument("beginning of range (" + std::to_string(start) +
                           ") beyond end of range (" + std::to_string(end) + "): " + e);
  }
  if (step == 0) return InvalidArgument("step of range should be a positive number: " + e);
  return Bits(start, end, step) | extra;
}

Result<uint64_t> ParseField(std::string_view field, const Bounds& b) {
  uint64_t bits = 0;
  for (std::string_view item : Split(field, ',')) {
    if (item.empty()) continue;  // Go's strings.FieldsFunc drops empty items
    BRFED_ASSIGN_OR_RETURN(uint64_t item_bits, ParseRange(item, b));
    bits |= item_bits;
  }
  return bits;
}

int64_t FloorMod(int64_t a, int64_t b) {
  int64_t m = a % b;
  return m < 0 ? m + b : m;
}

}  // namespace

Status CronSchedule::ParseZonePrefix(std::string_view& spec, CronSchedule& s) {
  if (!spec.starts_with("TZ=") && !spec.starts_with("CRON_TZ=")) return Status::Ok();
  size_t space = spec.find(' ');
  if (space == std::string_view::npos) {
    // robfig panics here (robfig/cron#554); a clear error is the only safe answer.
    return InvalidArgument("time zone prefix must be followed by a space and a schedule: " +
                           std::string(spec));
  }
  size_t eq = spec.find('=');
  std::string_view name = spec.substr(eq + 1, space - eq - 1);
  Result<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
  if (!zone.ok()) {
    return InvalidArgument("provided bad location " + std::string(name) + ": " +
                           zone.status().message());
  }
  s.zone_ = *zone;
  spec = spec.substr(space);
  while (!spec.empty() && IsSpace(spec.front())) spec.remove_prefix(1);
  while (!spec.empty() && IsSpace(spec.back())) spec.remove_suffix(1);
  return Status::Ok();
}

Status CronSchedule::ParseDescriptor(std::string_view spec, CronSchedule& s) {
  // Each descriptor fires at 00:00:00 of its period (bit 0 of minute and hour).
  const uint64_t first_minute = 1, first_hour = 1;
  if (spec == "@yearly" || spec == "@annually") {
    s.minute_ = first_minute, s.hour_ = first_hour, s.dom_ = uint64_t{1} << 1;
    s.month_ = uint64_t{1} << 1, s.dow_ = All(kDow);
  } else if (spec == "@monthly") {
    s.minute_ = first_minute, s.hour_ = first_hour, s.dom_ = uint64_t{1} << 1;
    s.month_ = All(kMonths), s.dow_ = All(kDow);
  } else if (spec == "@weekly") {
    s.minute_ = first_minute, s.hour_ = first_hour, s.dom_ = All(kDom);
    s.month_ = All(kMonths), s.dow_ = 1;
  } else if (spec == "@daily" || spec == "@midnight") {
    s.minute_ = first_minute, s.hour_ = first_hour, s.dom_ = All(kDom);
    s.month_ = All(kMonths), s.dow_ = All(kDow);
  } else if (spec == "@hourly") {
    s.minute_ = first_minute, s.hour_ = All(kHours), s.dom_ = All(kDom);
    s.month_ = All(kMonths), s.dow_ = All(kDow);
  } else if (spec.starts_with("@every ")) {
    Result<std::chrono::nanoseconds> d = ParseGoDuration(spec.substr(7));
    if (!d.ok()) {
      return InvalidArgument("failed to parse duration " + std::string(spec) + ": " +
                             d.status().message());
    }
    // robfig accepts zero and negative delays and runs them every second; a schedule that
    // fires a backup every second is never what was meant, so brfed rejects them.
    if (d->count() <= 0) {
      return InvalidArgument("@every needs a positive duration: " + std::string(spec));
    }
    // robfig's Every: at least one second, sub-second parts dropped.
    s.every_ =
        std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(*d));
  } else {
    return InvalidArgument("unrecognized descriptor: " + std::string(spec));
  }
  return Status::Ok();
}

Result<CronSchedule> CronSchedule::Parse(std::string_view spec) {
  if (spec.empty()) return InvalidArgument("empty spec string");
  CronSchedule s;
  s.zone_ = TimeZone::Local();
  BRFED_RETURN_IF_ERROR(ParseZonePrefix(spec, s));
  if (spec.starts_with("@")) {
    BRFED_RETURN_IF_ERROR(ParseDescriptor(spec, s));
    return s;
  }
  std::vector<std::string_view> fields = SplitFields(spec);
  if (fields.size() != 5) {
    return InvalidArgument("expected exactly 5 fields, found " + std::to_string(fields.size()) +
                           ": " + FormatList(fields));
  }
  BRFED_ASSIGN_OR_RETURN(s.minute_, ParseField(fields[0], kMinutes));
  BRFED_ASSIGN_OR_RETURN(s.hour_, ParseField(fields[1], kHours));
  BRFED_ASSIGN_OR_RETURN(s.dom_, ParseField(fields[2], kDom));
  BRFED_ASSIGN_OR_RETURN(s.month_, ParseField(fields[3], kMonths));
  BRFED_ASSIGN_OR_RETURN(s.dow_, ParseField(fields[4], kDow));
  return s;
}

bool CronSchedule::DayMatches(const CivilTime& c) const {
  const bool dom_match = (uint64_t{1} << c.day) & dom_;
  const bool dow_match = (uint64_t{1} << c.weekday) & dow_;
  if ((dom_ & kStarBit) || (dow_ & kStarBit)) return dom_match && dow_match;
  return dom_match || dow_match;
}

namespace {

// robfig's field-by-field walk towards the next activation. `c` always holds the wall-clock
// fields of `u` (Unix seconds) in the zone. Each field step advances until its field matches,
// and returns true when it wrapped into the next larger unit (the walk then starts over).
struct CronWalk {
  CronWalk(const TimeZone& zone, int64_t start) : zone(zone), u(start), c(zone.ToCivil(start)) {}

  void Set(int64_t unix_seconds) {
    u = unix_seconds;
    c = zone.ToCivil(u);
  }
  void Date(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s) {
    CivilTime target;
    target.year = y, target.month = mo, target.day = d;
    target.hour = h, target.minute = mi, target.second = s;
    Set(zone.FromCivil(target));
  }
  // The first change truncates the smaller fields, once.
  bool FirstChange() { return !std::exchange(added, true); }

  bool Month(uint64_t months) {
    while (((uint64_t{1} << c.month) & months) == 0) {
      if (FirstChange()) Date(c.year, c.month, 1, 0, 0, 0);
      Date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second);  // AddDate(0, 1, 0)
      if (c.month == 1) return true;
    }
    return false;
  }
  template <typename DayMatches>
  bool Day(DayMatches matches) {
    while (!matches(c)) {
      if (FirstChange()) Date(c.year, c.month, c.day, 0, 0, 0);
      Date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second);  // AddDate(0, 0, 1)
      // Where DST moves midnight, the day starts at 23:00 or 01:00: nudge back to midnight.
      if (c.hour != 0) Set(c.hour > 12 ? u + (24 - c.hour) * 3600 : u - c.hour * 3600);
      if (c.day == 1) return true;
    }
    return false;
  }
  bool Hour(uint64_t hours) {
    while (((uint64_t{1} << c.hour) & hours) == 0) {
      if (FirstChange()) Date(c.year, c.month, c.day, c.hour, 0, 0);
      Set(u + 3600);
      if (c.hour == 0) return true;
    }
    return false;
  }
  bool Minute(uint64_t minutes) {
    while (((uint64_t{1} << c.minute) & minutes) == 0) {
      if (FirstChange()) Set(u - FloorMod(u, 60));  // Go's Truncate(time.Minute), absolute time
      Set(u + 60);
      if (c.minute == 0) return true;
    }
    return false;
  }
  bool Second(uint64_t seconds) {
    while (((uint64_t{1} << c.second) & seconds) == 0) {
      FirstChange();
      Set(u + 1);
      if (c.second == 0) return true;
    }
    return false;
  }

  const TimeZone& zone;
  int64_t u;
  CivilTime c;
  bool added = false;
};

}  // namespace

std::optional<Time> CronSchedule::Next(Time t) const {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  using std::chrono::seconds;
  const int64_t ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  const int64_t sub_second = FloorMod(ns, 1'000'000'000);
  const int64_t whole = (ns - sub_second) / 1'000'000'000;
  // Time points hold nanoseconds in 64 bits (until 2262): later instants are "never".
  const int64_t max_seconds = duration_cast<seconds>(Time::max().time_since_epoch()).count() - 1;
  if (every_) {
    if (every_->count() > max_seconds - whole) return std::nullopt;
    return Time(duration_cast<Time::duration>(seconds(whole) + *every_));
  }

  // robfig's walk, on Unix seconds.
  CronWalk walk(*zone_, whole + 1);
  const int64_t year_limit = walk.c.year + 5;
  for (;;) {
    if (walk.c.year > year_limit) return std::nullopt;
    if (walk.Month(month_) || walk.Day([this](const CivilTime& c) { return DayMatches(c); }) ||
        walk.Hour(hour_) || walk.Minute(minute_) || walk.Second(second_)) {
      continue;  // a field wrapped around: start again from the month
    }
    break;
  }
  const int64_t u = walk.u;
  if (u > max_seconds) return std::nullopt;
  return Time(duration_cast<Time::duration>(seconds(u)));
}

}  // namespace brfed::cron
