#include "core/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "core/excerpt.h"

namespace brfed {
namespace {

constexpr uint64_t kOverflow = uint64_t{1} << 63;

Status InvalidDuration(std::string_view orig) {
  return InvalidArgument("time: invalid duration " + Quote(orig));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Consumes leading digits into *x; false on overflow.
bool LeadingInt(std::string_view* s, uint64_t* x) {
  size_t i = 0;
  uint64_t v = 0;
  for (; i < s->size() && IsDigit((*s)[i]); ++i) {
    if (v > kOverflow / 10) return false;
    v = v * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (v > kOverflow) return false;
  }
  *x = v;
  s->remove_prefix(i);
  return true;
}

// Consumes leading digits as a fraction: value *x over *scale. Digits past int64 precision
// are consumed and ignored, as Go does.
void LeadingFraction(std::string_view* s, uint64_t* x, double* scale) {
  size_t i = 0;
  uint64_t v = 0;
  double sc = 1;
  bool overflow = false;
  for (; i < s->size() && IsDigit((*s)[i]); ++i) {
    if (overflow) continue;
    if (v > (kOverflow - 1) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = v * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (y > kOverflow) {
      overflow = true;
      continue;
    }
    v = y;
    sc *= 10;
  }
  *x = v;
  *scale = sc;
  s->remove_prefix(i);
}

uint64_t UnitNanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000ULL;
  if (u == "m") return 60ULL * 1000000000ULL;
  if (u == "h") return 3600ULL * 1000000000ULL;
  return 0;
}

// Writes the fraction of v/10^prec into the front of *out (right to left), dropping
// trailing zeros and the point when the fraction is zero. Returns v/10^prec.
uint64_t FormatFraction(std::string* out, uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    int digit = static_cast<int>(v % 10);
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) out->insert(0, "." + digits);
  return v;
}

void FormatInt(std::string* out, uint64_t v) { out->insert(0, std::to_string(v)); }

}  // namespace

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view orig) {
  std::string_view s = orig;
  uint64_t d = 0;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return InvalidDuration(orig);
  while (!s.empty()) {
    uint64_t v = 0, f = 0;
    double scale = 1;
    if (!(s[0] == '.' || IsDigit(s[0]))) return InvalidDuration(orig);
    size_t before = s.size();
    if (!LeadingInt(&s, &v)) return InvalidDuration(orig);
    bool pre = before != s.size();
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t frac_before = s.size();
      LeadingFraction(&s, &f, &scale);
      post = frac_before != s.size();
    }
    if (!pre && !post) return InvalidDuration(orig);
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !IsDigit(s[i])) ++i;
    if (i == 0) return InvalidArgument("time: missing unit in duration " + Quote(orig));
    std::string_view unit_name = s.substr(0, i);
    s.remove_prefix(i);
    uint64_t unit = UnitNanos(unit_name);
    if (unit == 0) {
      return InvalidArgument("time: unknown unit " + Quote(unit_name) + " in duration " +
                             Quote(orig));
    }
    if (v > kOverflow / unit) return InvalidDuration(orig);
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kOverflow) return InvalidDuration(orig);
    }
    d += v;
    if (d > kOverflow) return InvalidDuration(orig);
  }
  if (neg) {
    // -(1<<63) is representable; negate in unsigned arithmetic to avoid UB.
    return std::chrono::nanoseconds(static_cast<int64_t>(~d + 1));
  }
  if (d > kOverflow - 1) return InvalidDuration(orig);
  return std::chrono::nanoseconds(static_cast<int64_t>(d));
}

std::string FormatGoDuration(std::chrono::nanoseconds dur) {
  int64_t d = dur.count();
  bool neg = d < 0;
  uint64_t u = static_cast<uint64_t>(d);
  if (neg) u = ~u + 1;
  std::string out;
  if (u < 1000000000ULL) {
    int prec = 0;
    if (u == 0) return "0s";
    if (u < 1000ULL) {
      prec = 0;
      out = "ns";
    } else if (u < 1000000ULL) {
      prec = 3;
      out = "\xC2\xB5s";
    } else {
      prec = 6;
      out = "ms";
    }
    u = FormatFraction(&out, u, prec);
    FormatInt(&out, u);
  } else {
    out = "s";
    u = FormatFraction(&out, u, 9);
    FormatInt(&out, u % 60);
    u /= 60;
    if (u > 0) {
      out.insert(0, "m");
      FormatInt(&out, u % 60);
      u /= 60;
      if (u > 0) {
        out.insert(0, "h");
        FormatInt(&out, u);
      }
    }
  }
  if (neg) out.insert(0, "-");
  return out;
}

std::chrono::nanoseconds RoundGoDuration(std::chrono::nanoseconds dur,
                                         std::chrono::nanoseconds multiple) {
  int64_t d = dur.count();
  int64_t m = multiple.count();
  if (m <= 0) return dur;
  auto less_than_half = [](int64_t x, int64_t y) {
    return static_cast<uint64_t>(x) + static_cast<uint64_t>(x) < static_cast<uint64_t>(y);
  };
  int64_t r = d % m;
  if (d < 0) {
    r = -r;
    if (less_than_half(r, m)) return std::chrono::nanoseconds(d + r);
    if (d >= std::numeric_limits<int64_t>::min() + m - r) {
      return std::chrono::nanoseconds(d - (m - r));
    }
    return std::chrono::nanoseconds(std::numeric_limits<int64_t>::min());
  }
  if (less_than_half(r, m)) return std::chrono::nanoseconds(d - r);
  if (d <= std::numeric_limits<int64_t>::max() - (m - r)) {
    return std::chrono::nanoseconds(d + (m - r));
  }
  return std::chrono::nanoseconds(std::numeric_limits<int64_t>::max());
}

}  // namespace brfed
