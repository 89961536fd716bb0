// Tables for the chaos runner's pure checks.
#include "tests/chaos/chaos_checks.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

namespace brfed::chaos {
namespace {

TEST(ChaosChecks, TerminalOrExplained) {
  struct Case {
    const char* what;
    const char* object;
    bool settled;
  };
  const Case cases[] = {
      {"complete", R"({"status":{"phase":"Complete"}})", true},
      {"failed", R"({"status":{"phase":"Failed"}})", true},
      {"invalid", R"({"status":{"phase":"Invalid"}})", true},
      {"no status", R"({})", false},
      {"running, no reason", R"({"status":{"phase":"Running","conditions":[
         {"type":"Running","status":"True","reason":"","message":""}]}})",
       false},
      {"running with a stated cause", R"({"status":{"phase":"Running","conditions":[
         {"type":"DataPlaneUnreachable","status":"True","reason":"Unreachable",
          "message":"cluster c2: connection refused"}]}})",
       true},
      {"a False condition explains nothing", R"({"status":{"phase":"Running","conditions":[
         {"type":"X","status":"False","reason":"R","message":"m"}]}})",
       false},
      {"a member retrying with its reason", R"({"status":{"phase":"Running","backups":[
         {"k8sClusterName":"c1","reason":"ClusterUnreachable","message":"c1: timeout"}]}})",
       true},
      {"a restore member without a message", R"({"status":{"phase":"Running","restores":[
         {"k8sClusterName":"c1","reason":"RetryFailed"}]}})",
       false},
  };
  for (const Case& c : cases) {
    auto obj = ParseJson(c.object);
    ASSERT_TRUE(obj.ok()) << c.what;
    EXPECT_EQ(TerminalOrExplained(*obj), c.settled) << c.what;
  }
}

TEST(ChaosChecks, LongestPause) {
  struct Case {
    const char* what;
    std::string log;
    double seconds;
  };
  const Case cases[] = {
      {"empty", "", 0},
      {"one pause", R"({"event":"pd_pause","holder":"a","mono_ns":1000000000}
{"event":"pd_resume","holder":"a","mono_ns":3500000000}
)",
       2.5},
      {"the longest of two overlapping holders",
       R"({"event":"pd_pause","holder":"a","mono_ns":0}
{"event":"pd_pause","holder":"b","mono_ns":1000000000}
{"event":"pd_resume","holder":"a","mono_ns":2000000000}
{"event":"pd_pause_expired","holder":"b","mono_ns":7000000000}
)",
       6},
      {"a renewal keeps the first instant", R"({"event":"pd_pause","holder":"a","mono_ns":0}
{"event":"pd_pause","holder":"a","mono_ns":4000000000}
{"event":"pd_resume","holder":"a","mono_ns":5000000000}
)",
       5},
      {"open at the end counts to the last line", R"({"event":"pd_pause","holder":"a","mono_ns":0}
{"event":"snapshot_create","mono_ns":9000000000}
)",
       9},
      {"malformed lines are skipped", R"(not json
{"event":"pd_pause","holder":"a","mono_ns":0}
{"event":"pd_resume","holder":"a","mono_ns":1000000000}
)",
       1},
  };
  for (const Case& c : cases) EXPECT_DOUBLE_EQ(LongestPauseSeconds(c.log), c.seconds) << c.what;
}

// A pause whose holder's API server was stopped may last until 5 s after it resumed, since
// nothing can release it meanwhile; a freeze elsewhere, or one that began after the bound had
// run out, excuses nothing.
TEST(ChaosChecks, PausesOverBoundAllowForAFrozenHolder) {
  const auto s = [](double seconds) { return static_cast<int64_t>(seconds * 1e9); };
  const auto pause = [&](double from, double to) {
    return R"({"event":"pd_pause","holder":"c1/tidb/fed-a/u1#init","mono_ns":)" +
           std::to_string(s(from)) + "}\n" +
           R"({"event":"pd_resume","holder":"c1/tidb/fed-a/u1#init","mono_ns":)" +
           std::to_string(s(to)) + "}\n";
  };
  using Frozen = std::map<std::string, std::vector<FrozenSpan>>;
  struct Case {
    const char* what;
    std::string log;
    Frozen frozen;
    bool over;
  };
  const Case cases[] = {
      {"within the bound", pause(0, 19), {}, false},
      {"over the bound", pause(0, 21), {}, true},
      {"holder frozen from 2 s to 31 s: until 36 s",
       pause(0, 35),
       {{"c1", {{s(2), s(31)}}}},
       false},
      {"holder frozen, but released later still", pause(0, 37), {{"c1", {{s(2), s(31)}}}}, true},
      {"another data plane frozen", pause(0, 35), {{"c2", {{s(2), s(31)}}}}, true},
      {"frozen after the bound ran out", pause(0, 35), {{"c1", {{s(21), s(31)}}}}, true},
      {"frozen before the pause began", pause(10, 35), {{"c1", {{s(0), s(5)}}}}, true},
      {"a second freeze within the extension extends it",
       pause(0, 44),
       {{"c1", {{s(28), s(40)}, {s(2), s(25)}}}},
       false},
      {"still frozen at the end",
       pause(0, 100),
       {{"c1", {{s(2), std::numeric_limits<int64_t>::max()}}}},
       false},
  };
  for (const Case& c : cases) {
    const auto over =
        PausesOverBound(c.log, std::chrono::seconds(20), std::chrono::seconds(5), c.frozen);
    EXPECT_EQ(!over.empty(), c.over) << c.what << (over.empty() ? "" : ": " + over[0]);
  }
  EXPECT_NE(PausesOverBound(pause(0, 21), std::chrono::seconds(20), std::chrono::seconds(5), {})
                .at(0)
                .find("c1/tidb/fed-a/u1#init lasted 21 s"),
            std::string::npos);
}

}  // namespace
}  // namespace brfed::chaos
