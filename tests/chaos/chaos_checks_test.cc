// Tables for the chaos runner's pure checks.
#include "tests/chaos/chaos_checks.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace brfed::chaos
