#include "cron/tz.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/files.h"

namespace brfed::cron {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

struct CivilDate {
  int64_t year;
  int64_t month;  // 1..12
  int64_t day;    // 1..31
};

// Howard Hinnant's civil_from_days: the proleptic Gregorian date `days` after 1970-01-01.
CivilDate CivilFromDays(int64_t days) {
  int64_t z = days + 719468;
  int64_t era = FloorDiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  CivilDate d;
  d.day = doy - (153 * mp + 2) / 5 + 1;
  d.month = mp < 10 ? mp + 3 : mp - 9;
  d.year = yoe + era * 400 + (d.month <= 2 ? 1 : 0);
  return d;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int64_t year, int64_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

// Big-endian readers over TZif data; `ok` turns false on a short read.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  std::string_view Take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t Big(size_t n) {
    std::string_view b = Take(n);
    uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
    return v;
  }
  std::string_view Rest() { return ok_ ? data_.substr(pos_) : std::string_view(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Parser for the pieces of a POSIX TZ string.
class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++i_;
    return true;
  }

  bool Name(std::string* out) {
    if (Eat('<')) {
      size_t close = s_.find('>', i_);
      if (close == std::string_view::npos || close == i_) return false;
      *out = std::string(s_.substr(i_, close - i_));
      i_ = close + 1;
      return true;
    }
    size_t start = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ - start < 3) return false;
    *out = std::string(s_.substr(start, i_ - start));
    return true;
  }

  bool Number(int64_t* out) {
    size_t start = i_;
    int64_t v = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])) && i_ - start < 6) {
      v = v * 10 + (s_[i_] - '0');
      ++i_;
    }
    *out = v;
    return i_ > start;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536 extension).
  bool Clock(int64_t* out) {
    int64_t sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    int64_t h = 0, m = 0, sec = 0;
    if (!Number(&h) || h > 167) return false;
    if (Eat(':')) {
      if (!Number(&m) || m > 59) return false;
      if (Eat(':') && (!Number(&sec) || sec > 59)) return false;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool Date(TimeZone::PosixRule::Date* d) {
    int64_t n = 0;
    if (Eat('J')) {
      if (!Number(&n) || n < 1 || n > 365) return false;
      d->kind = 'J';
      d->day = static_cast<int>(n);
    } else if (Eat('M')) {
      int64_t m = 0, w = 0, wd = 0;
      if (!Number(&m) || m < 1 || m > 12 || !Eat('.') || !Number(&w) || w < 1 || w > 5 ||
          !Eat('.') || !Number(&wd) || wd > 6) {
        return false;
      }
      d->kind = 'M';
      d->month = static_cast<int>(m);
      d->week = static_cast<int>(w);
      d->day = static_cast<int>(wd);
    } else {
      if (!Number(&n) || n > 365) return false;
      d->kind = 'N';
      d->day = static_cast<int>(n);
    }
    d->time = 7200;
    if (Eat('/')) {
      int64_t t = 0;
      if (!Clock(&t)) return false;
      d->time = static_cast<int32_t>(t);
    }
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// UTC instant at which `date` happens in `year`, given the offset in force before it.
int64_t RuleInstant(int64_t year, const TimeZone::PosixRule::Date& date, int32_t offset) {
  int64_t day_of_year = 0;  // zero-based
  switch (date.kind) {
    case 'J':
      day_of_year = date.day - 1 + (IsLeap(year) && date.day >= 60 ? 1 : 0);
      break;
    case 'N':
      day_of_year = date.day;
      break;
    default: {
      int64_t first = DaysFromCivil(year, date.month, 1);
      int first_weekday = static_cast<int>(FloorMod(first + 4, 7));  // 1970-01-01 was Thursday
      int64_t day = 1 + FloorMod(date.day - first_weekday, 7) + (date.week - 1) * 7;
      while (day > DaysIn(year, date.month)) day -= 7;
      day_of_year = DaysFromCivil(year, date.month, day) - DaysFromCivil(year, 1, 1);
    }
  }
  return (DaysFromCivil(year, 1, 1) + day_of_year) * kSecondsPerDay + date.time - offset;
}

std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>>& Cache() {
  static auto* cache = new std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>>();
  return *cache;
}

Result<std::shared_ptr<const TimeZone>> LoadFromDirectories(const std::string& name,
                                                            const std::string& as) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("ZONEINFO"); env != nullptr && *env != '\0') {
    dirs.emplace_back(env);
  }
  for (const char* d :
       {"/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ", "/etc/zoneinfo"}) {
    dirs.emplace_back(d);
  }
  for (const std::string& dir : dirs) {
    Result<std::string> data = ReadFile(dir + "/" + name);
    if (!data.ok()) continue;
    Result<std::shared_ptr<const TimeZone>> zone = TimeZone::FromTzif(as, *data);
    if (zone.ok()) return zone;
  }
  return InvalidArgument("unknown time zone " + name);
}

std::shared_ptr<const TimeZone> MakeLocal() {
  const char* tz = std::getenv("TZ");
  if (tz == nullptr) {
    Result<std::string> data = ReadFile("/etc/localtime");
    if (data.ok()) {
      Result<std::shared_ptr<const TimeZone>> zone = TimeZone::FromTzif("Local", *data);
      if (zone.ok()) return *zone;
    }
    return TimeZone::Utc();
  }
  std::string name = tz;
  if (!name.empty() && name[0] == ':') name.erase(0, 1);
  if (name.empty() || name == "UTC") return TimeZone::Utc();
  if (name[0] == '/') {
    Result<std::string> data = ReadFile(name);
    if (data.ok()) {
      Result<std::shared_ptr<const TimeZone>> zone = TimeZone::FromTzif("Local", *data);
      if (zone.ok()) return *zone;
    }
    return TimeZone::Utc();
  }
  Result<std::shared_ptr<const TimeZone>> zone = LoadFromDirectories(name, "Local");
  return zone.ok() ? *zone : TimeZone::Utc();
}

}  // namespace

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc = [] {
    auto zone = std::shared_ptr<TimeZone>(new TimeZone());
    zone->name_ = "UTC";
    zone->types_.push_back(Type{0, false, "UTC"});
    return std::shared_ptr<const TimeZone>(zone);
  }();
  return utc;
}

std::shared_ptr<const TimeZone> TimeZone::Local() {
  static const std::shared_ptr<const TimeZone> local = MakeLocal();
  return local;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name) {
  if (name.empty() || name == "UTC") return Utc();
  if (name == "Local") return Local();
  if (name.find("..") != std::string_view::npos || name[0] == '/' || name[0] == '\\') {
    return InvalidArgument("time: invalid location name");
  }
  std::lock_guard<std::mutex> lock(CacheMutex());
  auto it = Cache().find(name);
  if (it != Cache().end()) return it->second;
  BRFED_ASSIGN_OR_RETURN(std::shared_ptr<const TimeZone> zone,
                         LoadFromDirectories(std::string(name), std::string(name)));
  Cache().emplace(std::string(name), zone);
  return zone;
}

Result<TimeZone::PosixRule> TimeZone::ParsePosixRule(std::string_view text) {
  const Status bad = InvalidArgument("invalid POSIX TZ string \"" + std::string(text) + "\"");
  PosixParser p(text);
  PosixRule rule;
  int64_t offset = 0;
  if (!p.Name(&rule.standard.abbreviation) || !p.Clock(&offset)) return bad;
  rule.standard.offset = static_cast<int32_t>(-offset);
  if (p.done()) return rule;
  rule.has_dst = true;
  rule.daylight.is_dst = true;
  if (!p.Name(&rule.daylight.abbreviation)) return bad;
  rule.daylight.offset = rule.standard.offset + 3600;
  if (!p.Peek(',') && !p.done()) {
    if (!p.Clock(&offset)) return bad;
    rule.daylight.offset = static_cast<int32_t>(-offset);
  }
  if (p.done()) {
    // No rule: the US rules, as Go and glibc assume.
    rule.start = PosixRule::Date{'M', 0, 2, 3, 7200};
    rule.end = PosixRule::Date{'M', 0, 1, 11, 7200};
    return rule;
  }
  if (!p.Eat(',') || !p.Date(&rule.start) || !p.Eat(',') || !p.Date(&rule.end) || !p.done()) {
    return bad;
  }
  return rule;
}

namespace {

// A TZif header (RFC 8536 §3.1): the version and the six counts isutcnt, isstdcnt, leapcnt,
// timecnt, typecnt, charcnt.
bool ReadTzifHeader(Reader& r, int* version, uint64_t counts[6]) {
  if (r.Take(4) != "TZif") return false;
  std::string_view v = r.Take(1);
  *version = v.empty() || v[0] == '\0' ? 1 : v[0] - '0';
  r.Take(15);
  for (int i = 0; i < 6; ++i) counts[i] = r.Big(4);
  return r.ok();
}

// A TZif data block (RFC 8536 §3.2) as the zone keeps it.
struct TzifData {
  std::vector<int64_t> transitions;
  std::vector<uint8_t> transition_types;
  std::vector<TimeZone::Type> types;
};

// Reads the data block after a header with counts `c`, times being `time_size` bytes wide.
Result<TzifData> ReadTzifData(Reader& r, const uint64_t c[6], size_t time_size,
                              const std::string& context) {
  TzifData d;
  for (uint64_t i = 0; i < c[3]; ++i) {
    uint64_t raw = r.Big(time_size);
    d.transitions.push_back(time_size == 8 ? static_cast<int64_t>(raw)
                                           : static_cast<int64_t>(static_cast<int32_t>(raw)));
  }
  for (uint64_t i = 0; i < c[3]; ++i) {
    std::string_view b = r.Take(1);
    if (!r.ok()) break;
    uint8_t idx = static_cast<uint8_t>(b[0]);
    if (idx >= c[4]) return InvalidArgument(context + "bad transition type");
    d.transition_types.push_back(idx);
  }
  std::vector<uint8_t> abbrev_index;
  for (uint64_t i = 0; i < c[4]; ++i) {
    TimeZone::Type type;
    type.offset = static_cast<int32_t>(r.Big(4));
    std::string_view dst = r.Take(1);
    type.is_dst = !dst.empty() && dst[0] != 0;
    abbrev_index.push_back(static_cast<uint8_t>(r.Big(1)));
    d.types.push_back(type);
  }
  std::string_view chars = r.Take(c[5]);
  if (!r.ok()) return InvalidArgument(context + "truncated TZif file");
  for (size_t i = 0; i < d.types.size(); ++i) {
    if (abbrev_index[i] < chars.size()) {
      std::string_view rest = chars.substr(abbrev_index[i]);
      d.types[i].abbreviation = std::string(rest.substr(0, rest.find('\0')));
    }
  }
  r.Take(c[2] * (time_size + 4) + c[1] + c[0]);
  if (!r.ok()) return InvalidArgument(context + "truncated TZif file");
  if (!std::is_sorted(d.transitions.begin(), d.transitions.end())) {
    return InvalidArgument(context + "transitions out of order");
  }
  return d;
}

}  // namespace

Result<std::shared_ptr<const TimeZone>> TimeZone::FromTzif(std::string name,
                                                           std::string_view data) {
  const std::string context = "time zone " + name + ": ";
  Reader r(data);
  int version = 0;
  uint64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  if (!ReadTzifHeader(r, &version, c)) return InvalidArgument(context + "not a TZif file");
  size_t time_size = 4;
  if (version >= 2) {
    // Skip the 32-bit block; the 64-bit block and the footer follow.
    r.Take(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (!ReadTzifHeader(r, &version, c)) return InvalidArgument(context + "truncated TZif file");
    time_size = 8;
  }
  if (c[4] == 0 || c[4] > 256) return InvalidArgument(context + "bad type count");
  // Counts come from the file: check them against its size before looping over them (a count
  // of 2^32 - 1 with no data behind it looped and grew a vector for minutes).
  const uint64_t block =
      c[3] * time_size + c[3] + c[4] * 6 + c[5] + c[2] * (time_size + 4) + c[1] + c[0];
  if (r.Rest().size() < block) return InvalidArgument(context + "truncated TZif file");
  BRFED_ASSIGN_OR_RETURN(TzifData d, ReadTzifData(r, c, time_size, context));
  auto zone = std::shared_ptr<TimeZone>(new TimeZone());
  zone->name_ = std::move(name);
  zone->transitions_ = std::move(d.transitions);
  zone->transition_types_ = std::move(d.transition_types);
  zone->types_ = std::move(d.types);
  if (version >= 2) {
    std::string_view footer = r.Rest();
    if (footer.size() >= 2 && footer[0] == '\n') {
      footer = footer.substr(1, footer.find('\n', 1) - 1);
      // An unusable footer is ignored, as Go does: the last transition then stays in force.
      Result<PosixRule> rule = ParsePosixRule(footer);
      if (!footer.empty() && rule.ok()) {
        zone->has_rule_ = true;
        zone->rule_ = *rule;
      }
    }
  }
  return std::shared_ptr<const TimeZone>(zone);
}

const TimeZone::Type& TimeZone::TypeAt(int64_t t) const {
  if (transitions_.empty() || t >= transitions_.back()) {
    if (has_rule_) {
      if (!rule_.has_dst) return rule_.standard;
      int64_t local = t + rule_.standard.offset;
      int64_t year = CivilFromDays(FloorDiv(local, kSecondsPerDay)).year;
      int64_t start = RuleInstant(year, rule_.start, rule_.standard.offset);
      int64_t end = RuleInstant(year, rule_.end, rule_.daylight.offset);
      bool dst = start < end ? (start <= t && t < end) : !(end <= t && t < start);
      return dst ? rule_.daylight : rule_.standard;
    }
    if (transitions_.empty()) return types_[0];
    return types_[transition_types_.back()];
  }
  if (t < transitions_.front()) return types_[0];
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  return types_[transition_types_[(it - transitions_.begin()) - 1]];
}

CivilTime TimeZone::ToCivil(int64_t t) const {
  int64_t local = t + OffsetAt(t);
  int64_t days = FloorDiv(local, kSecondsPerDay);
  int64_t secs = local - days * kSecondsPerDay;
  CivilTime c;
  const CivilDate date = CivilFromDays(days);
  c.year = date.year;
  c.month = date.month;
  c.day = date.day;
  c.hour = secs / 3600;
  c.minute = secs / 60 % 60;
  c.second = secs % 60;
  c.weekday = static_cast<int>(FloorMod(days + 4, 7));
  return c;
}

int64_t TimeZone::FromCivil(const CivilTime& civil) const {
  int64_t month0 = civil.month - 1;
  int64_t year = civil.year + FloorDiv(month0, 12);
  month0 = FloorMod(month0, 12);
  int64_t days = DaysFromCivil(year, month0 + 1, 1) + civil.day - 1;
  int64_t wall = days * kSecondsPerDay + civil.hour * 3600 + civil.minute * 60 + civil.second;
  // Go's time.Date: take the offset in force at the wall time read as UTC; if the instant that
  // offset yields lies in another period, use that period's offset instead.
  int32_t guess = OffsetAt(wall);
  if (guess == 0) return wall;
  return wall - OffsetAt(wall - guess);
}

}  // namespace brfed::cron
