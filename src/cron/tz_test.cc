#include "cron/tz.h"

#include <gtest/gtest.h>

#include <string>

#include "core/time.h"

namespace brfed::cron {
namespace {

int64_t Unix(const char* rfc3339) {
  Result<Time> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return std::chrono::duration_cast<std::chrono::seconds>(t.value_or(Time()).time_since_epoch())
      .count();
}

std::shared_ptr<const TimeZone> Zone(const char* name) {
  Result<std::shared_ptr<const TimeZone>> z = TimeZone::Load(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.status().message();
  return z.ok() ? *z : TimeZone::Utc();
}

CivilTime Civil(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s) {
  CivilTime c;
  c.year = y, c.month = mo, c.day = d, c.hour = h, c.minute = mi, c.second = s;
  return c;
}

// A version-2 TZif file with one type and no transitions, so only `footer` decides.
std::string FooterOnlyTzif(const std::string& footer) {
  auto be32 = [](uint32_t v) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (24 - 8 * i));
    return out;
  };
  auto block = [&](char version) {
    std::string h = "TZif";
    h += version;
    h += std::string(15, '\0');
    for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u}) h += be32(count);
    h += be32(0) + std::string(1, '\0') + std::string(1, '\0') + std::string("UTC", 4);
    return h;
  };
  return block('2') + block('2') + "\n" + footer + "\n";
}

TEST(TimeZoneTest, LoadsNamesAsGoDoes) {
  EXPECT_EQ(Zone("")->name(), "UTC");
  EXPECT_EQ(Zone("UTC")->name(), "UTC");
  EXPECT_EQ(Zone("Local").get(), TimeZone::Local().get());
  EXPECT_EQ(Zone("Europe/Berlin").get(), Zone("Europe/Berlin").get());  // cached
  EXPECT_EQ(TimeZone::Load("No/Such_Zone").status().message(), "unknown time zone No/Such_Zone");
  EXPECT_EQ(TimeZone::Load("../etc/passwd").status().message(), "time: invalid location name");
  EXPECT_EQ(TimeZone::Load("/etc/localtime").status().message(), "time: invalid location name");
  EXPECT_EQ(TimeZone::Load("\\x").status().message(), "time: invalid location name");
  // A directory or a non-TZif file is not a zone.
  EXPECT_FALSE(TimeZone::Load("America").ok());
  EXPECT_FALSE(TimeZone::Load("zone.tab").ok());
}

TEST(TimeZoneTest, OffsetsAndCivilFields) {
  auto ny = Zone("America/New_York");
  EXPECT_EQ(ny->OffsetAt(Unix("2024-01-15T12:00:00Z")), -5 * 3600);
  EXPECT_EQ(ny->OffsetAt(Unix("2024-07-15T12:00:00Z")), -4 * 3600);
  EXPECT_EQ(ny->TypeAt(Unix("2024-07-15T12:00:00Z")).abbreviation, "EDT");
  EXPECT_TRUE(ny->TypeAt(Unix("2024-07-15T12:00:00Z")).is_dst);
  CivilTime c = ny->ToCivil(Unix("2024-02-29T03:04:05Z"));
  EXPECT_EQ(c, Civil(2024, 2, 28, 22, 4, 5));
  EXPECT_EQ(c.weekday, 3);  // Wednesday
  EXPECT_EQ(Zone("Asia/Kathmandu")->OffsetAt(Unix("2024-01-01T00:00:00Z")), 5 * 3600 + 45 * 60);
  EXPECT_EQ(TimeZone::Utc()->ToCivil(-1), Civil(1969, 12, 31, 23, 59, 59));
}

TEST(TimeZoneTest, FromCivilNormalisesLikeGoDate) {
  auto utc = TimeZone::Utc();
  EXPECT_EQ(utc->FromCivil(Civil(2024, 13, 1, 0, 0, 0)), Unix("2025-01-01T00:00:00Z"));
  EXPECT_EQ(utc->FromCivil(Civil(2024, 3, 0, 0, 0, 0)), Unix("2024-02-29T00:00:00Z"));
  EXPECT_EQ(utc->FromCivil(Civil(2023, 2, 29, 0, 0, 0)), Unix("2023-03-01T00:00:00Z"));
  EXPECT_EQ(utc->FromCivil(Civil(2024, 1, 31, 24, 60, 60)), Unix("2024-02-01T01:01:00Z"));
  EXPECT_EQ(utc->FromCivil(Civil(2024, 0, 1, -1, 0, 0)), Unix("2023-11-30T23:00:00Z"));
}

TEST(TimeZoneTest, FromCivilInGapsAndOverlapsMatchesGo) {
  // Go's time.Date in America/New_York (west of UTC): a gap time lands an hour early in the
  // old offset; an overlap time picks the first (daylight) instant.
  auto ny = Zone("America/New_York");
  EXPECT_EQ(ny->FromCivil(Civil(2012, 3, 11, 2, 30, 0)), Unix("2012-03-11T01:30:00-05:00"));
  EXPECT_EQ(ny->FromCivil(Civil(2012, 11, 4, 1, 30, 0)), Unix("2012-11-04T01:30:00-04:00"));
  // East of UTC the same rule gives the later offset in an overlap and the new one in a gap.
  auto berlin = Zone("Europe/Berlin");
  EXPECT_EQ(berlin->FromCivil(Civil(2024, 10, 27, 2, 30, 0)), Unix("2024-10-27T02:30:00+01:00"));
  EXPECT_EQ(berlin->FromCivil(Civil(2024, 3, 31, 2, 30, 0)), Unix("2024-03-31T03:30:00+02:00"));
  // Sao Paulo 2018-11-04 has no midnight: Go gives 23:00 the evening before.
  auto sp = Zone("America/Sao_Paulo");
  EXPECT_EQ(sp->FromCivil(Civil(2018, 11, 4, 0, 0, 0)), Unix("2018-11-03T23:00:00-03:00"));
  // London in winter has offset 0: Go takes the wall time as UTC.
  auto london = Zone("Europe/London");
  EXPECT_EQ(london->FromCivil(Civil(2024, 3, 31, 1, 30, 0)), Unix("2024-03-31T02:30:00+01:00"));
}

TEST(TimeZoneTest, ParsesPosixRules) {
  Result<TimeZone::PosixRule> r = TimeZone::ParsePosixRule("CET-1CEST,M3.5.0,M10.5.0/3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->standard.abbreviation, "CET");
  EXPECT_EQ(r->standard.offset, 3600);
  EXPECT_EQ(r->daylight.offset, 7200);
  EXPECT_EQ(r->start.month, 3);
  EXPECT_EQ(r->start.week, 5);
  EXPECT_EQ(r->end.time, 3 * 3600);
  r = TimeZone::ParsePosixRule("<-03>3");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_dst);
  EXPECT_EQ(r->standard.offset, -3 * 3600);
  r = TimeZone::ParsePosixRule("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->standard.offset, 10 * 3600 + 1800);
  EXPECT_EQ(r->daylight.offset, 11 * 3600);
  r = TimeZone::ParsePosixRule("EST5EDT");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start.month, 3);
  EXPECT_EQ(r->end.month, 11);
  EXPECT_TRUE(TimeZone::ParsePosixRule("<-02>2<-01>,J60/-1,J300/25").ok());
  EXPECT_TRUE(TimeZone::ParsePosixRule("XXX3YYY,0/0,365/25").ok());
  for (const char* bad :
       {"", "E5", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
        "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J10", "EST5EDT,M3.2.0,M11.1.0junk", "<EST5"}) {
    EXPECT_FALSE(TimeZone::ParsePosixRule(bad).ok()) << bad;
  }
}

TEST(TimeZoneTest, FooterRulesAgreeWithTransitionTables) {
  // For years the tables cover, a zone built from the footer alone gives the same offsets.
  const std::pair<const char*, const char*> zones[] = {
      {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
      {"Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"},
      {"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
      {"Australia/Lord_Howe", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},
  };
  for (const auto& [name, footer] : zones) {
    auto table = Zone(name);
    Result<std::shared_ptr<const TimeZone>> rule = TimeZone::FromTzif(name, FooterOnlyTzif(footer));
    ASSERT_TRUE(rule.ok()) << rule.status().message();
    for (int64_t t = Unix("2026-01-01T00:00:00Z"); t < Unix("2028-01-01T00:00:00Z"); t += 3600) {
      ASSERT_EQ((*rule)->OffsetAt(t), table->OffsetAt(t)) << name << " at " << t;
    }
  }
}

TEST(TimeZoneTest, RejectsBrokenTzifData) {
  EXPECT_FALSE(TimeZone::FromTzif("x", "").ok());
  EXPECT_FALSE(TimeZone::FromTzif("x", "not a tzif file at all, definitely not").ok());
  std::string good = FooterOnlyTzif("UTC0");
  ASSERT_TRUE(TimeZone::FromTzif("x", good).ok());
  for (size_t cut : {size_t{10}, size_t{44}, size_t{50}, size_t{60}}) {
    EXPECT_FALSE(TimeZone::FromTzif("x", good.substr(0, cut)).ok()) << cut;
  }
  // Found by fuzz/cron_tz (issue 18): a huge transition count with no data behind it looped
  // over 2^32 transitions; it is a truncated file.
  for (char version : {'\0', '2'}) {
    std::string huge = "TZif" + std::string(1, version) + std::string(15, '\0');
    for (uint32_t count : {0u, 0u, 0u, 0xFFFFFFFFu, 1u, 4u}) {
      for (int i = 0; i < 4; ++i) huge += static_cast<char>(count >> (24 - 8 * i));
    }
    Result<std::shared_ptr<const TimeZone>> z = TimeZone::FromTzif("x", huge + huge);
    ASSERT_FALSE(z.ok());
    EXPECT_NE(z.status().message().find("truncated"), std::string::npos) << z.status().message();
  }
  // A broken footer is ignored (as Go does): the zone falls back to its types.
  Result<std::shared_ptr<const TimeZone>> z = TimeZone::FromTzif("x", FooterOnlyTzif("??"));
  ASSERT_TRUE(z.ok());
  EXPECT_EQ((*z)->OffsetAt(0), 0);
}

}  // namespace
}  // namespace brfed::cron
