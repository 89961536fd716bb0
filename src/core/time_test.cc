#include "core/time.h"

#include <gtest/gtest.h>

namespace brfed {
namespace {

using std::chrono::seconds;

TEST(Rfc3339, FormatsSecondsInUtc) {
  EXPECT_EQ(FormatRfc3339(Time(seconds(0))), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Time(seconds(1700000000))), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(Time(seconds(1700000000)) + std::chrono::milliseconds(999)),
            "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339Micro(Time(seconds(1700000000)) + std::chrono::microseconds(1500)),
            "2023-11-14T22:13:20.001500Z");
}

TEST(Rfc3339, ParsesWhatKubernetesWrites) {
  struct Case {
    const char* in;
    long long want;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2023-11-14T22:13:20Z", 1700000000},
      {"2023-11-14t22:13:20z", 1700000000},
      {"2023-11-15T00:13:20+02:00", 1700000000},
      {"2023-11-14T20:13:20-02:00", 1700000000},
      {"2024-02-29T00:00:00Z", 1709164800},
      {"1969-12-31T23:59:59Z", -1},
  };
  for (const auto& c : cases) {
    auto t = ParseRfc3339(c.in);
    ASSERT_TRUE(t.ok()) << c.in << ": " << t.status().ToString();
    EXPECT_EQ(std::chrono::duration_cast<seconds>(t->time_since_epoch()).count(), c.want) << c.in;
  }
  auto frac = ParseRfc3339("2023-11-14T22:13:20.123456789Z");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(frac->time_since_epoch()).count(),
            1700000000123456LL);
}

TEST(Rfc3339, RejectsGarbage) {
  for (const char* in : {"", "2023", "2023-11-14", "2023-11-14T22:13:20", "2023-13-01T00:00:00Z",
                         "2023-02-29T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z",
                         "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0200",
                         "2023-11-14T22:13:20Zjunk", "abcd-ef-ghTij:kl:mnZ", "2023-11-14 22:13:20Z",
                         // Found by fuzzing (issue 18): these overflowed 64-bit nanoseconds.
                         "9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "0000-01-01T00:00:00Z",
                         "1677-09-21T00:00:00Z"}) {
    auto t = ParseRfc3339(in);
    EXPECT_FALSE(t.ok()) << in;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument) << in;
  }
}

TEST(Rfc3339, AcceptsTheRepresentableRange) {
  EXPECT_TRUE(ParseRfc3339("1678-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2261-12-31T23:59:59.999999999Z").ok());
}

TEST(Rfc3339, RoundTrips) {
  for (long long s : {0LL, 951782400LL, 1700000000LL, 4102444800LL}) {
    auto back = ParseRfc3339(FormatRfc3339(Time(seconds(s))));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, Time(seconds(s)));
  }
}

TEST(TimeArithmetic, SaturatesWhereParsedTimesAreTooFarApart) {
  const Time early = *ParseRfc3339("1678-01-01T00:00:00Z");
  const Time late = *ParseRfc3339("2261-12-31T23:59:59Z");
  EXPECT_EQ(Elapsed(early, late), std::chrono::nanoseconds::max());
  EXPECT_EQ(Elapsed(late, early), std::chrono::nanoseconds::min());
  EXPECT_EQ(Elapsed(Time(seconds(10)), Time(seconds(25))), seconds(15));
  EXPECT_EQ(ShiftedBy(late, std::chrono::hours(24 * 365 * 200)), Time::max());
  EXPECT_EQ(ShiftedBy(early, -std::chrono::hours(24 * 365 * 200)), Time::min());
  EXPECT_EQ(ShiftedBy(Time(seconds(10)), seconds(5)), Time(seconds(15)));
}

}  // namespace
}  // namespace brfed
