#include "runtime/write_expectations.h"

#include <gtest/gtest.h>

#include <vector>

namespace brfed::runtime {
namespace {

using std::chrono::seconds;

TEST(ResourceVersionReachedTest, Table) {
  struct Case {
    std::string cached, written;
    bool reached;
  } cases[] = {
      {"", "5", false},                      // the cache has no object yet (a create)
      {"4", "5", false},                     // older than our write
      {"5", "5", true},                      // our write
      {"6", "5", true},                      // someone wrote after us
      {"10", "9", true},                     // numerically, not as text
      {"abc", "abc", true},                  // opaque: only equality
      {"abd", "abc", false},                 // opaque and different
      {"7", "abc", false},                   // one side opaque
      {"-1", "0", false},                    // not a revision
      {"18446744073709551616", "5", false},  // does not fit: opaque
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ResourceVersionReached(c.cached, c.written), c.reached)
        << "cached=" << c.cached << " written=" << c.written;
  }
}

// One step of a scenario: advance the clock, then either record a write or ask.
struct Step {
  seconds advance;
  enum { kExpect, kPending, kForget } op;
  std::string object;
  std::string rv;                  // kExpect: written; kPending: cached
  std::optional<seconds> pending;  // kPending: the expected answer
};

TEST(WriteExpectationsTest, ScenariosWithAFakeClock) {
  struct Scenario {
    std::string name;
    std::vector<Step> steps;
  } scenarios[] = {
      {"nothing expected", {{seconds(0), Step::kPending, "a", "1", std::nullopt}}},
      {"stale cache waits, then catches up",
       {{seconds(0), Step::kExpect, "a", "5", {}},
        {seconds(1), Step::kPending, "a", "4", seconds(9)},
        {seconds(0), Step::kPending, "a", "5", std::nullopt},
        // met expectations are forgotten: an older cache no longer waits
        {seconds(0), Step::kPending, "a", "4", std::nullopt}}},
      {"a create waits for the object to appear",
       {{seconds(0), Step::kExpect, "a", "7", {}},
        {seconds(2), Step::kPending, "a", "", seconds(8)},
        {seconds(0), Step::kPending, "a", "8", std::nullopt}}},
      {"keyed by object",
       {{seconds(0), Step::kExpect, "a", "5", {}},
        {seconds(0), Step::kPending, "b", "1", std::nullopt},
        {seconds(0), Step::kPending, "a", "1", seconds(10)}}},
      {"a later write replaces the expectation and restarts its clock",
       {{seconds(0), Step::kExpect, "a", "5", {}},
        {seconds(3), Step::kExpect, "a", "9", {}},
        {seconds(1), Step::kPending, "a", "5", seconds(9)},
        {seconds(0), Step::kPending, "a", "9", std::nullopt}}},
      {"expires after the ttl",
       {{seconds(0), Step::kExpect, "a", "5", {}},
        {seconds(9), Step::kPending, "a", "4", seconds(1)},
        {seconds(1), Step::kPending, "a", "4", std::nullopt}}},
      {"forget",
       {{seconds(0), Step::kExpect, "a", "5", {}},
        {seconds(0), Step::kForget, "a", "", {}},
        {seconds(0), Step::kPending, "a", "1", std::nullopt}}},
      {"an empty resourceVersion records nothing",
       {{seconds(0), Step::kExpect, "a", "", {}},
        {seconds(0), Step::kPending, "a", "1", std::nullopt}}},
  };
  for (const Scenario& s : scenarios) {
    FakeClock clock;
    WriteExpectations expectations(&clock, seconds(10));
    for (size_t i = 0; i < s.steps.size(); ++i) {
      const Step& step = s.steps[i];
      clock.Advance(step.advance);
      switch (step.op) {
        case Step::kExpect:
          expectations.Expect(step.object, step.rv);
          break;
        case Step::kForget:
          expectations.Forget(step.object);
          break;
        case Step::kPending: {
          auto got = expectations.Pending(step.object, step.rv);
          ASSERT_EQ(got.has_value(), step.pending.has_value()) << s.name << " step " << i;
          if (got) {
            EXPECT_EQ(*got, *step.pending) << s.name << " step " << i;
          }
          break;
        }
      }
    }
  }
}

TEST(WriteExpectationsTest, ExpiredEntriesOfObjectsNeverAskedAgainAreDropped) {
  FakeClock clock;
  WriteExpectations expectations(&clock, seconds(10));
  expectations.Expect("deleted", "5");
  clock.Advance(seconds(11));
  expectations.Expect("live", "6");
  EXPECT_EQ(expectations.size(), 1u);
}

}  // namespace
}  // namespace brfed::runtime
