#include "core/duration.h"

#include <gtest/gtest.h>

#include <limits>

namespace brfed {
namespace {

using std::chrono::nanoseconds;

struct ParseCase {
  const char* in;
  long long want_ns;
};

TEST(GoDurationParse, AcceptsWhatGoAccepts) {
  const ParseCase cases[] = {
      {"0", 0},
      {"5s", 5000000000LL},
      {"30s", 30000000000LL},
      {"1478s", 1478000000000LL},
      {"-5s", -5000000000LL},
      {"+5s", 5000000000LL},
      {"-0", 0},
      {"+0", 0},
      {"5.0s", 5000000000LL},
      {"5.6s", 5600000000LL},
      {"5.s", 5000000000LL},
      {".5s", 500000000LL},
      {"1.0s", 1000000000LL},
      {"1.00s", 1000000000LL},
      {"1.004s", 1004000000LL},
      {"1.0040s", 1004000000LL},
      {"100.00100s", 100001000000LL},
      {"10ns", 10},
      {"11us", 11000},
      {"12\xC2\xB5s", 12000},
      {"12\xCE\xBCs", 12000},
      {"13ms", 13000000},
      {"14s", 14000000000LL},
      {"15m", 900000000000LL},
      {"16h", 57600000000000LL},
      {"3h30m", 12600000000000LL},
      {"10.5s4m", 250500000000LL},
      {"-2m3.4s", -123400000000LL},
      {"1h2m3s4ms5us6ns", 3723004005006LL},
      {"39h9m14.425s", 140954425000000LL},
      {"52763797000ns", 52763797000LL},
      {"0.3333333333333333333h", 1200000000000LL},
      {"9007199254740993ns", 9007199254740993LL},
      {"9223372036854775807ns", std::numeric_limits<long long>::max()},
      {"9223372036854775.807us", std::numeric_limits<long long>::max()},
      {"9223372036s854ms775us807ns", std::numeric_limits<long long>::max()},
      {"-9223372036854775808ns", std::numeric_limits<long long>::min()},
      {"-9223372036s854ms775us808ns", std::numeric_limits<long long>::min()},
      {"0.100000000000000000000h", 360000000000LL},
      {"0.830103483285477580700h", 2988372539827LL},
  };
  for (const auto& c : cases) {
    auto got = ParseGoDuration(c.in);
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.status().ToString();
    EXPECT_EQ(got->count(), c.want_ns) << c.in;
  }
}

TEST(GoDurationParse, RejectsWhatGoRejects) {
  const char* bad[] = {"",
                       "3",
                       "-",
                       "s",
                       ".",
                       "-.",
                       ".s",
                       "+.s",
                       "1d",
                       "\x85\x85",
                       "\xff"
                       "ff",
                       "hello \xff"
                       "ff world",
                       "9223372036854775808ns",
                       "9223372036854775.808us",
                       "9223372036854ms775us808ns",
                       "-9223372036854775809ns",
                       "1.5",
                       "1h 30m",
                       "1h-30m",
                       "5x",
                       "3000000h"};
  for (const char* in : bad) {
    auto got = ParseGoDuration(in);
    EXPECT_FALSE(got.ok()) << "accepted: " << in;
    EXPECT_EQ(got.status().code(), Code::kInvalidArgument);
  }
}

TEST(GoDurationParse, ErrorMessagesMatchGo) {
  EXPECT_EQ(ParseGoDuration("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("3").status().message(), "time: missing unit in duration \"3\"");
  EXPECT_EQ(ParseGoDuration("1d").status().message(),
            "time: unknown unit \"d\" in duration \"1d\"");
}

TEST(GoDurationFormat, MatchesGoString) {
  const std::pair<long long, const char*> cases[] = {
      {0, "0s"},
      {1, "1ns"},
      {1100, "1.1\xC2\xB5s"},
      {2200000, "2.2ms"},
      {3300000000LL, "3.3s"},
      {4 * 60000000000LL + 5000000000LL, "4m5s"},
      {4 * 60000000000LL + 5001000000LL, "4m5.001s"},
      {5 * 3600000000000LL + 6 * 60000000000LL + 7001000000LL, "5h6m7.001s"},
      {8 * 60000000000LL + 1, "8m0.000000001s"},
      {5400000000000LL, "1h30m0s"},
      {129600000000000LL, "36h0m0s"},
      {1500000000LL, "1.5s"},
      {-123000000000LL, "-2m3s"},
      {std::numeric_limits<long long>::max(), "2562047h47m16.854775807s"},
      {std::numeric_limits<long long>::min(), "-2562047h47m16.854775808s"},
  };
  for (const auto& [ns, want] : cases) {
    EXPECT_EQ(FormatGoDuration(nanoseconds(ns)), want) << ns;
  }
}

TEST(GoDurationFormat, RoundTripsThroughParse) {
  for (long long ns : {1LL, 999LL, 1000LL, 1500000LL, 61000000000LL, 90061000000001LL}) {
    auto back = ParseGoDuration(FormatGoDuration(nanoseconds(ns)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->count(), ns);
  }
}

TEST(GoDurationRound, MatchesGoRound) {
  const long long s = 1000000000LL;
  struct Case {
    long long d, m, want;
  } cases[] = {
      {0, s, 0},
      {1499999999, s, s},
      {1500000000, s, 2 * s},
      {-1500000000, s, -2 * s},
      {-1499999999, s, -s},
      {2 * s + 1, s, 2 * s},
      {7, 0, 7},
      {7, -1, 7},
      {std::numeric_limits<long long>::max(), 2 * s, 9223372036000000000LL},
      {std::numeric_limits<long long>::max(), 1LL << 62, std::numeric_limits<long long>::max()},
      {std::numeric_limits<long long>::min(), 3, std::numeric_limits<long long>::min()},
      // Found by fuzz/duration (issue 18): d + m overflowed although d + (m - r) fits.
      {9223372036854775800LL, 23, 9223372036854775805LL},
      {-9223372036854775800LL, 23, -9223372036854775805LL},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RoundGoDuration(nanoseconds(c.d), nanoseconds(c.m)).count(), c.want)
        << c.d << " round " << c.m;
  }
}

}  // namespace
}  // namespace brfed
