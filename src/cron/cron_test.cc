#include "cron/cron.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/time.h"

namespace brfed::cron {
namespace {

Time T(const char* rfc3339) {
  Result<Time> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.value_or(Time());
}

std::string NextOf(const std::string& spec, const char* from) {
  Result<CronSchedule> s = CronSchedule::Parse(spec);
  if (!s.ok()) return "parse error: " + s.status().message();
  std::optional<Time> next = s->Next(T(from));
  return next ? FormatRfc3339(*next) : "never";
}

struct NextCase {
  const char* from;
  const char* spec;
  const char* want;  // UTC RFC 3339, or "never"
};

// robfig/cron v3 spec_test.go TestNext, with the seconds field removed (ParseStandard has
// none) and every expected instant written in UTC.
TEST(CronNextTest, RobfigTable) {
  const NextCase cases[] = {
      // Simple cases.
      {"2012-07-09T14:45:00Z", "TZ=UTC 0/15 * * * *", "2012-07-09T15:00:00Z"},
      {"2012-07-09T14:59:00Z", "TZ=UTC 0/15 * * * *", "2012-07-09T15:00:00Z"},
      {"2012-07-09T14:59:59Z", "TZ=UTC 0/15 * * * *", "2012-07-09T15:00:00Z"},
      // Wrap around hours.
      {"2012-07-09T15:45:00Z", "TZ=UTC 20-35/15 * * * *", "2012-07-09T16:20:00Z"},
      // Wrap around days.
      {"2012-07-09T23:46:00Z", "TZ=UTC */15 * * * *", "2012-07-10T00:00:00Z"},
      {"2012-07-09T23:45:00Z", "TZ=UTC 20-35/15 * * * *", "2012-07-10T00:20:00Z"},
      {"2012-07-09T23:35:51Z", "TZ=UTC 20-35/15 * * * *", "2012-07-10T00:20:00Z"},
      {"2012-07-09T23:35:51Z", "TZ=UTC 20-35/15 1/2 * * *", "2012-07-10T01:20:00Z"},
      {"2012-07-09T23:35:51Z", "TZ=UTC 20-35/15 10-12 * * *", "2012-07-10T10:20:00Z"},
      {"2012-07-09T23:35:51Z", "TZ=UTC 20-35/15 1/2 */2 * *", "2012-07-11T01:20:00Z"},
      {"2012-07-09T23:35:51Z", "TZ=UTC 20-35/15 * 9-20 * *", "2012-07-10T00:20:00Z"},
      {"2012-07-09T23:35:51Z", "TZ=UTC 20-35/15 * 9-20 Jul *", "2012-07-10T00:20:00Z"},
      // Wrap around months.
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 9 Apr-Oct ?", "2012-08-09T00:00:00Z"},
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 */5 Apr,Aug,Oct Mon", "2012-08-01T00:00:00Z"},
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 */5 Oct Mon", "2012-10-01T00:00:00Z"},
      // Wrap around years.
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 * Feb Mon", "2013-02-04T00:00:00Z"},
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 * Feb Mon/2", "2013-02-01T00:00:00Z"},
      // Wrap around minute, hour, day, month and year at once.
      {"2012-12-31T23:59:45Z", "TZ=UTC * * * * *", "2013-01-01T00:00:00Z"},
      // Leap year.
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 29 Feb ?", "2016-02-29T00:00:00Z"},
      // Spring forward in New York (2012-03-11 02:00 EST -> 03:00 EDT).
      {"2012-03-11T00:00:00-05:00", "TZ=America/New_York 30 2 11 Mar ?",
       "2013-03-11T06:30:00Z"},  // 02:30 EDT a year later: that day has no 02:30
      {"2012-03-11T00:00:00-05:00", "TZ=America/New_York 0 * * * ?", "2012-03-11T06:00:00Z"},
      {"2012-03-11T01:00:00-05:00", "TZ=America/New_York 0 * * * ?",
       "2012-03-11T07:00:00Z"},  // 03:00 EDT
      {"2012-03-11T03:00:00-04:00", "TZ=America/New_York 0 * * * ?", "2012-03-11T08:00:00Z"},
      {"2012-03-11T04:00:00-04:00", "TZ=America/New_York 0 * * * ?", "2012-03-11T09:00:00Z"},
      {"2012-03-11T00:00:00-05:00", "CRON_TZ=America/New_York 0 * * * ?", "2012-03-11T06:00:00Z"},
      {"2012-03-11T01:00:00-05:00", "CRON_TZ=America/New_York 0 * * * ?", "2012-03-11T07:00:00Z"},
      // 01:00 nightly job.
      {"2012-03-11T00:00:00-05:00", "TZ=America/New_York 0 1 * * ?", "2012-03-11T06:00:00Z"},
      {"2012-03-11T01:00:00-05:00", "TZ=America/New_York 0 1 * * ?", "2012-03-12T05:00:00Z"},
      // 02:00 nightly job: skipped on the day of the gap.
      {"2012-03-11T00:00:00-05:00", "TZ=America/New_York 0 2 * * ?", "2012-03-12T06:00:00Z"},
      // Fall back (2012-11-04 02:00 EDT -> 01:00 EST).
      {"2012-11-04T00:00:00-04:00", "TZ=America/New_York 30 2 04 Nov ?",
       "2012-11-04T07:30:00Z"},  // 02:30 EST
      {"2012-11-04T01:45:00-04:00", "TZ=America/New_York 30 1 04 Nov ?",
       "2012-11-04T06:30:00Z"},  // 01:30 EST, the second 01:30
      // Hourly job fires at both 01:00s.
      {"2012-11-04T00:00:00-04:00", "TZ=America/New_York 0 * * * ?", "2012-11-04T05:00:00Z"},
      {"2012-11-04T01:00:00-04:00", "TZ=America/New_York 0 * * * ?", "2012-11-04T06:00:00Z"},
      {"2012-11-04T01:00:00-05:00", "TZ=America/New_York 0 * * * ?", "2012-11-04T07:00:00Z"},
      // 01:00 nightly job runs twice.
      {"2012-11-04T00:00:00-04:00", "TZ=America/New_York 0 1 * * ?", "2012-11-04T05:00:00Z"},
      {"2012-11-04T01:00:00-04:00", "TZ=America/New_York 0 1 * * ?", "2012-11-04T06:00:00Z"},
      {"2012-11-04T01:00:00-05:00", "TZ=America/New_York 0 1 * * ?", "2012-11-05T06:00:00Z"},
      // 02:00 and 03:00 nightly jobs run once.
      {"2012-11-04T00:00:00-04:00", "TZ=America/New_York 0 2 * * ?", "2012-11-04T07:00:00Z"},
      {"2012-11-04T02:00:00-05:00", "TZ=America/New_York 0 2 * * ?", "2012-11-05T07:00:00Z"},
      {"2012-11-04T00:00:00-04:00", "TZ=America/New_York 0 3 * * ?", "2012-11-04T08:00:00Z"},
      {"2012-11-04T03:00:00-05:00", "TZ=America/New_York 0 3 * * ?", "2012-11-05T08:00:00Z"},
      // Unsatisfiable.
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 30 Feb ?", "never"},
      {"2012-07-09T23:35:00Z", "TZ=UTC 0 0 31 Apr ?", "never"},
      // Monthly job across the fall-back.
      {"2012-11-04T00:00:00-04:00", "TZ=America/New_York 0 3 3 * ?", "2012-12-03T08:00:00Z"},
      // Midnight does not exist in Sao Paulo on 2018-11-04 (robfig/cron#157).
      {"2018-10-17T05:00:00-04:00", "TZ=America/Sao_Paulo 0 9 10 * ?", "2018-11-10T11:00:00Z"},
      {"2018-02-14T05:00:00-04:00", "TZ=America/Sao_Paulo 0 9 22 * ?", "2018-02-22T12:00:00Z"},
  };
  for (const NextCase& c : cases) {
    EXPECT_EQ(NextOf(c.spec, c.from), c.want) << c.spec << " after " << c.from;
  }
}

TEST(CronNextTest, FieldForms) {
  const NextCase cases[] = {
      // Lists, ranges and steps in every field.
      {"2024-01-01T00:00:00Z", "TZ=UTC 5,10,55 * * * *", "2024-01-01T00:05:00Z"},
      {"2024-01-01T00:10:00Z", "TZ=UTC 5,10,55 * * * *", "2024-01-01T00:55:00Z"},
      {"2024-01-01T00:55:00Z", "TZ=UTC 5,10,55 * * * *", "2024-01-01T01:05:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 9-17/4 * * *", "2024-01-01T09:00:00Z"},
      {"2024-01-01T09:00:00Z", "TZ=UTC 0 9-17/4 * * *", "2024-01-01T13:00:00Z"},
      {"2024-01-01T17:00:00Z", "TZ=UTC 0 9-17/4 * * *", "2024-01-02T09:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 10/10 * *", "2024-01-10T00:00:00Z"},
      {"2024-01-30T00:00:00Z", "TZ=UTC 0 0 10/10 * *", "2024-02-10T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 1 */3 *", "2024-04-01T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 1 2/5 *", "2024-02-01T00:00:00Z"},
      {"2024-02-01T00:00:00Z", "TZ=UTC 0 0 1 2/5 *", "2024-07-01T00:00:00Z"},
      {"2024-07-01T00:00:00Z", "TZ=UTC 0 0 1 2/5 *", "2024-12-01T00:00:00Z"},
      // 2024-01-01 is a Monday.
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 * * 0", "2024-01-07T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 * * 6", "2024-01-06T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 * * mon-FRI", "2024-01-02T00:00:00Z"},
      {"2024-01-05T12:00:00Z", "TZ=UTC 0 0 * * mon-FRI", "2024-01-08T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 * * SAT,sun", "2024-01-06T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 1 JUL *", "2024-07-01T00:00:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC 0 0 1 jul-Aug/1 *", "2024-07-01T00:00:00Z"},
      // `?` is `*`, and so is `*/1`; `*-anything` is `*` too, as in robfig.
      {"2024-01-01T00:00:00Z", "TZ=UTC ? ? ? ? ?", "2024-01-01T00:01:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC */1 * * * *", "2024-01-01T00:01:00Z"},
      {"2024-01-01T00:00:00Z", "TZ=UTC *-5 * * * *", "2024-01-01T00:01:00Z"},
      // Empty list items are dropped, as Go's strings.FieldsFunc does.
      {"2024-01-01T00:00:00Z", "TZ=UTC 7,,9 * * * *", "2024-01-01T00:07:00Z"},
      // Day-of-month and day-of-week: OR when both are restricted ...
      {"2024-01-01T12:00:00Z", "TZ=UTC 0 0 15 * fri", "2024-01-05T00:00:00Z"},
      {"2024-01-06T12:00:00Z", "TZ=UTC 0 0 15 * fri", "2024-01-12T00:00:00Z"},
      {"2024-01-12T12:00:00Z", "TZ=UTC 0 0 15 * fri", "2024-01-15T00:00:00Z"},
      // ... AND when either is a star (`*/2` is not a star; `*/1` is).
      {"2024-01-01T12:00:00Z", "TZ=UTC 0 0 */1 * fri", "2024-01-05T00:00:00Z"},
      {"2024-01-01T12:00:00Z", "TZ=UTC 0 0 */2 * fri", "2024-01-03T00:00:00Z"},
      {"2024-01-01T12:00:00Z", "TZ=UTC 0 0 13 * ?", "2024-01-13T00:00:00Z"},
      {"2024-01-01T12:00:00Z", "TZ=UTC 0 0 13 * *", "2024-01-13T00:00:00Z"},
      // Month ends and leap days.
      {"2024-01-31T00:00:00Z", "TZ=UTC 0 0 31 * *", "2024-03-31T00:00:00Z"},
      {"2024-04-15T00:00:00Z", "TZ=UTC 0 0 31 * *", "2024-05-31T00:00:00Z"},
      {"2024-02-28T00:00:00Z", "TZ=UTC 0 0 29 2 *", "2024-02-29T00:00:00Z"},
      {"2024-02-29T00:00:00Z", "TZ=UTC 0 0 29 2 *", "2028-02-29T00:00:00Z"},
      {"2099-03-01T00:00:00Z", "TZ=UTC 0 0 29 2 *", "2104-02-29T00:00:00Z"},
      {"2096-03-01T00:00:00Z", "TZ=UTC 0 0 29 2 *", "never"},  // 2100 is not a leap year
      {"2024-02-28T23:59:59Z", "TZ=UTC * * * * *", "2024-02-29T00:00:00Z"},
      {"2023-02-28T23:59:59Z", "TZ=UTC * * * * *", "2023-03-01T00:00:00Z"},
      {"2024-12-31T23:59:00Z", "TZ=UTC 59 23 31 12 *", "2025-12-31T23:59:00Z"},
      // Sub-second inputs round up to the next whole second first.
      {"2024-01-01T00:00:59.999Z", "TZ=UTC * * * * *", "2024-01-01T00:01:00Z"},
      {"2024-01-01T00:00:00.5Z", "TZ=UTC * * * * *", "2024-01-01T00:01:00Z"},
      // Fields split on any whitespace; extra spaces after the zone prefix are fine.
      {"2024-01-01T00:00:00Z", "TZ=UTC   0\t6 * *  *", "2024-01-01T06:00:00Z"},
      // An empty zone name is UTC, as Go's LoadLocation("") is.
      {"2024-01-01T00:00:00Z", "TZ= 0 6 * * *", "2024-01-01T06:00:00Z"},
  };
  for (const NextCase& c : cases) {
    EXPECT_EQ(NextOf(c.spec, c.from), c.want) << c.spec << " after " << c.from;
  }
}

TEST(CronNextTest, Descriptors) {
  const NextCase cases[] = {
      {"2024-05-17T10:20:30Z", "TZ=UTC @yearly", "2025-01-01T00:00:00Z"},
      {"2024-05-17T10:20:30Z", "TZ=UTC @annually", "2025-01-01T00:00:00Z"},
      {"2024-05-17T10:20:30Z", "TZ=UTC @monthly", "2024-06-01T00:00:00Z"},
      {"2024-05-17T10:20:30Z", "TZ=UTC @weekly", "2024-05-19T00:00:00Z"},  // Sunday
      {"2024-05-17T10:20:30Z", "TZ=UTC @daily", "2024-05-18T00:00:00Z"},
      {"2024-05-17T10:20:30Z", "TZ=UTC @midnight", "2024-05-18T00:00:00Z"},
      {"2024-05-17T10:20:30Z", "TZ=UTC @hourly", "2024-05-17T11:00:00Z"},
      {"2024-12-31T23:00:00Z", "TZ=UTC @hourly", "2025-01-01T00:00:00Z"},
      {"2024-05-17T10:20:30Z", "TZ=Asia/Tokyo @daily", "2024-05-17T15:00:00Z"},
      {"2024-05-17T10:20:30Z", "CRON_TZ=Europe/Berlin @monthly", "2024-05-31T22:00:00Z"},
      // @every: a constant delay from the (whole-second) reference, not clock-aligned.
      {"2024-05-17T10:20:30Z", "@every 3s", "2024-05-17T10:20:33Z"},
      {"2024-05-17T10:20:30.75Z", "@every 3s", "2024-05-17T10:20:33Z"},
      {"2024-05-17T10:20:30Z", "@every 1h30m", "2024-05-17T11:50:30Z"},
      {"2024-05-17T10:20:30Z", "@every 1.5s", "2024-05-17T10:20:31Z"},   // truncated to 1s
      {"2024-05-17T10:20:30Z", "@every 100ms", "2024-05-17T10:20:31Z"},  // raised to 1s
      {"2024-05-17T10:20:30Z", "@every 1000h", "2024-06-28T02:20:30Z"},
      // Beyond what a time point can hold: no next time rather than an overflow.
      {"2024-05-17T10:20:30Z", "@every 2562047h", "never"},
      {"2024-05-17T10:20:30Z", "TZ=America/New_York @every 10m", "2024-05-17T10:30:30Z"},
  };
  for (const NextCase& c : cases) {
    EXPECT_EQ(NextOf(c.spec, c.from), c.want) << c.spec << " after " << c.from;
  }
  EXPECT_TRUE(CronSchedule::Parse("@every 5m")->is_constant_delay());
  EXPECT_FALSE(CronSchedule::Parse("@hourly")->is_constant_delay());
}

TEST(CronNextTest, TimeZones) {
  const NextCase cases[] = {
      {"2024-05-17T00:00:00Z", "TZ=Asia/Kolkata 30 9 * * *", "2024-05-17T04:00:00Z"},
      {"2024-05-17T00:00:00Z", "TZ=Australia/Lord_Howe 0 12 * * *", "2024-05-17T01:30:00Z"},
      {"2024-12-17T00:00:00Z", "TZ=Australia/Lord_Howe 0 12 * * *", "2024-12-17T01:00:00Z"},
      {"2024-05-17T00:00:00Z", "TZ=Asia/Kathmandu 0 0 * * *", "2024-05-17T18:15:00Z"},
      {"2024-05-17T00:00:00Z", "TZ=Etc/GMT+5 0 0 * * *", "2024-05-17T05:00:00Z"},
      // Europe (east of UTC): spring forward 2024-03-31 02:00 CET -> 03:00 CEST.
      {"2024-03-30T12:00:00Z", "TZ=Europe/Berlin 30 2 * * *", "2024-04-01T00:30:00Z"},
      {"2024-03-31T00:30:00Z", "TZ=Europe/Berlin 0 * * * *", "2024-03-31T01:00:00Z"},
      // Fall back 2024-10-27 03:00 CEST -> 02:00 CET: 02:30 exists twice, runs at both.
      {"2024-10-26T12:00:00Z", "TZ=Europe/Berlin 30 2 * * *", "2024-10-27T00:30:00Z"},
      {"2024-10-27T00:30:00Z", "TZ=Europe/Berlin 30 2 * * *", "2024-10-27T01:30:00Z"},
      {"2024-10-27T01:30:00Z", "TZ=Europe/Berlin 30 2 * * *", "2024-10-28T01:30:00Z"},
      // Southern hemisphere: Sydney leaves DST 2024-04-07 03:00 AEDT -> 02:00 AEST.
      {"2024-04-06T12:00:00Z", "TZ=Australia/Sydney 30 2 * * *", "2024-04-06T15:30:00Z"},
      {"2024-04-06T15:30:00Z", "TZ=Australia/Sydney 30 2 * * *", "2024-04-06T16:30:00Z"},
      // ... and enters it 2024-10-06 02:00 AEST -> 03:00 AEDT: 02:30 is skipped that day.
      {"2024-10-05T12:00:00Z", "TZ=Australia/Sydney 30 2 * * *", "2024-10-06T15:30:00Z"},
      // Far future: beyond the table, from the TZif footer rule (EDT in July 2100).
      {"2100-07-01T00:00:00Z", "TZ=America/New_York 0 12 * * *", "2100-07-01T16:00:00Z"},
      {"2100-12-01T00:00:00Z", "TZ=America/New_York 0 12 * * *", "2100-12-01T17:00:00Z"},
  };
  for (const NextCase& c : cases) {
    EXPECT_EQ(NextOf(c.spec, c.from), c.want) << c.spec << " after " << c.from;
  }
}

TEST(CronNextTest, NoPrefixUsesLocalZone) {
  Result<CronSchedule> s = CronSchedule::Parse("0 12 * * *");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(&s->zone(), TimeZone::Local().get());
  Result<CronSchedule> local = CronSchedule::Parse("TZ=Local 0 12 * * *");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(s->Next(T("2024-01-01T00:00:00Z")), local->Next(T("2024-01-01T00:00:00Z")));
}

TEST(CronNextTest, EveryMinuteAcrossDstChangesIsOneMinuteApart) {
  // Every minute through both 2024 New York transitions and the Sao Paulo midnight gap of
  // 2018: strictly increasing and one minute apart in absolute time.
  const std::pair<const char*, const char*> windows[] = {
      {"TZ=America/New_York * * * * *", "2024-03-10T04:00:00Z"},
      {"TZ=America/New_York * * * * *", "2024-11-03T03:00:00Z"},
      {"TZ=America/Sao_Paulo * * * * *", "2018-11-04T01:00:00Z"},
  };
  for (const auto& [spec, start] : windows) {
    Result<CronSchedule> s = CronSchedule::Parse(spec);
    ASSERT_TRUE(s.ok());
    Time t = T(start);
    for (int i = 0; i < 6 * 60; ++i) {
      std::optional<Time> next = s->Next(t);
      ASSERT_TRUE(next.has_value());
      ASSERT_EQ(*next - t, std::chrono::minutes(1)) << spec << " " << FormatRfc3339(t);
      t = *next;
    }
  }
}

struct ErrorCase {
  const char* spec;
  const char* want;
};

TEST(CronParseTest, RejectsWithRobfigMessages) {
  const ErrorCase cases[] = {
      {"", "empty spec string"},
      {"   ", "expected exactly 5 fields, found 0: []"},
      {"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
      {"0 * * * * *", "expected exactly 5 fields, found 6: [0 * * * * *]"},
      {" @daily", "expected exactly 5 fields, found 1: [@daily]"},
      {"* 5 j * *", "failed to parse int from j: strconv.Atoi: parsing \"j\": invalid syntax"},
      {"60 * * * *", "end of range (60) above maximum (59): 60"},
      {"* 24 * * *", "end of range (24) above maximum (23): 24"},
      {"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
      {"* * 32 * *", "end of range (32) above maximum (31): 32"},
      {"* * * 0 *", "beginning of range (0) below minimum (1): 0"},
      {"* * * 13 *", "end of range (13) above maximum (12): 13"},
      {"* * * * 7", "end of range (7) above maximum (6): 7"},
      {"* * * * sun-7", "end of range (7) above maximum (6): sun-7"},
      {"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
      {"*/0 * * * *", "step of range should be a positive number: */0"},
      {"1-5/0 * * * *", "step of range should be a positive number: 1-5/0"},
      {"1-2-3 * * * *", "too many hyphens: 1-2-3"},
      {"*/2/3 * * * *", "too many slashes: */2/3"},
      {"-1 * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax"},
      {"1- * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax"},
      {"*/-2 * * * *", "negative number (-2) not allowed: -2"},
      {"*/x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"},
      {"99999999999999999999 * * * *",
       "failed to parse int from 99999999999999999999: strconv.Atoi: parsing "
       "\"99999999999999999999\": value out of range"},
      {"1.5 * * * *",
       "failed to parse int from 1.5: strconv.Atoi: parsing \"1.5\": invalid syntax"},
      {"L * * * *", "failed to parse int from L: strconv.Atoi: parsing \"L\": invalid syntax"},
      {"* * L * *", "failed to parse int from L: strconv.Atoi: parsing \"L\": invalid syntax"},
      {"* * * * 5#3",
       "failed to parse int from 5#3: strconv.Atoi: parsing \"5#3\": invalid syntax"},
      {"* * * january *",
       "failed to parse int from january: strconv.Atoi: parsing \"january\": invalid syntax"},
      {"mon * * * *",
       "failed to parse int from mon: strconv.Atoi: parsing \"mon\": invalid syntax"},
      {"* * * * jan",
       "failed to parse int from jan: strconv.Atoi: parsing \"jan\": invalid syntax"},
      {"@unrecognized", "unrecognized descriptor: @unrecognized"},
      {"@Daily", "unrecognized descriptor: @Daily"},
      {"@daily ", "unrecognized descriptor: @daily "},
      {"@every", "unrecognized descriptor: @every"},
      {"@every Xm", "failed to parse duration @every Xm: time: invalid duration \"Xm\""},
      {"@every 1d",
       "failed to parse duration @every 1d: time: unknown unit \"d\" in duration "
       "\"1d\""},
      {"@every  5s", "failed to parse duration @every  5s: time: invalid duration \" 5s\""},
      // robfig runs these every second; brfed rejects them (issue 18, finding 7).
      {"@every 0s", "@every needs a positive duration: @every 0s"},
      {"@every 0", "@every needs a positive duration: @every 0"},
      {"@every -5m", "@every needs a positive duration: @every -5m"},
      {"@every -1h", "@every needs a positive duration: @every -1h"},
      {"TZ=UTC", "time zone prefix must be followed by a space and a schedule: TZ=UTC"},
      {"TZ=", "time zone prefix must be followed by a space and a schedule: TZ="},
      // Only a space ends the zone name, as in robfig.
      {"CRON_TZ=UTC\t* * * * *", "provided bad location UTC\t*: unknown time zone UTC\t*"},
      {"TZ=Mars/Olympus_Mons * * * * *",
       "provided bad location Mars/Olympus_Mons: unknown time zone Mars/Olympus_Mons"},
      {"TZ=../../etc/passwd * * * * *",
       "provided bad location ../../etc/passwd: time: invalid location name"},
      {"TZ=/etc/localtime * * * * *",
       "provided bad location /etc/localtime: time: invalid location name"},
      {"TZ=UTC ", "expected exactly 5 fields, found 0: []"},
      {"TZ=UTC * * * *", "expected exactly 5 fields, found 4: [* * * *]"},
      {"TZ=UTC @sometimes", "unrecognized descriptor: @sometimes"},
  };
  for (const ErrorCase& c : cases) {
    Result<CronSchedule> s = CronSchedule::Parse(c.spec);
    ASSERT_FALSE(s.ok()) << "accepted: " << c.spec;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << c.spec;
    EXPECT_EQ(s.status().message(), c.want) << c.spec;
  }
}

TEST(CronParseTest, AcceptsValidForms) {
  for (const char* spec : {"* * * * *",
                           "0 0 1 1 0",
                           "59 23 31 12 6",
                           "0-59 0-23 1-31 1-12 0-6",
                           "+5 * * * *",
                           "0 0 * * SUN-sat",
                           "0 0 * Jan-DEC *",
                           "*/5 */2 */3 */4 */5",
                           "1,2,3-5,*/7 * * * *",
                           "? ? ? ? ?",
                           "@yearly",
                           "@annually",
                           "@monthly",
                           "@weekly",
                           "@daily",
                           "@midnight",
                           "@hourly",
                           "@every 1s",
                           "@every 1.5h",
                           "@every 1h2m3s4ms5us6ns",
                           "@every 10µs",
                           "TZ=UTC * * * * *",
                           "CRON_TZ=Asia/Tokyo @daily",
                           "TZ=Local * * * * *",
                           "TZ=America/Argentina/Buenos_Aires 0 0 * * *",
                           "\t0 0 * * *\n"}) {
    EXPECT_TRUE(CronSchedule::Parse(spec).ok())
        << spec << ": " << CronSchedule::Parse(spec).status().message();
  }
}

TEST(CronParseTest, ArbitraryInputNeverCrashes) {
  // Deterministic pseudo-random strings over cron's alphabet: each parses or is rejected, and
  // every accepted schedule answers Next.
  const std::string alphabet = "0123456789*/-,? \t@TZ=CRON_jansunmonevryhld.smhUTC";
  uint64_t state = 42;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>(state >> 33);
  };
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string spec;
    size_t len = next() % 24;
    for (size_t k = 0; k < len; ++k) spec += alphabet[next() % alphabet.size()];
    if (i % 3 == 0) spec = "* * * * " + spec;
    Result<CronSchedule> s = CronSchedule::Parse(spec);
    if (s.ok()) {
      ++accepted;
      (void)s->Next(T("2024-01-01T00:00:00Z"));
    } else {
      EXPECT_FALSE(s.status().message().empty()) << spec;
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace brfed::cron
