#include "federation/admission_line.h"

#include <gtest/gtest.h>

namespace brfed::federation {
namespace {

using namespace std::chrono_literals;

TEST(AdmissionLineTest, KeysWaitTheirTurnInTheOrderTheyCame) {
  FakeClock clock;
  AdmissionLine line(&clock, 5ms, 1s, 60s);
  EXPECT_EQ(line.Wait("a", 10ms), 10ms);
  EXPECT_EQ(line.Wait("b", 1ms), 5ms);    // one ahead: one spacing
  EXPECT_EQ(line.Wait("c", 1ms), 10ms);   // two ahead
  EXPECT_EQ(line.Wait("c", 30ms), 30ms);  // the wait it is given, when longer
  // Coming back keeps a key's place; admitted keys leave, and those behind move up.
  line.Leave("a");
  EXPECT_EQ(line.Wait("c", 1ms), 5ms);
  EXPECT_EQ(line.Wait("b", 0ms), 0ms);
  line.Leave("unknown");
  EXPECT_EQ(line.size(), 2u);
}

TEST(AdmissionLineTest, TheSpacingFollowsTheRateOfAdmissions) {
  FakeClock clock;
  AdmissionLine line(&clock, 5ms, 1s, 60s);
  for (int i = 0; i < 40; ++i) line.Wait("k" + std::to_string(i), 0ms);
  // One admission every 100 ms: the spacing moves from 5 ms towards 100 ms.
  for (int i = 0; i < 30; ++i) {
    clock.Advance(100ms);
    line.Leave("k" + std::to_string(i));
  }
  EXPECT_GT(line.spacing(), 95ms);
  EXPECT_LE(line.spacing(), 100ms);
  // The tenth key waiting now is told to come back after about nine admissions.
  EXPECT_EQ(line.Wait("k39", 0ms), line.spacing() * 9);
  // Bounded above.
  clock.Advance(1h);
  line.Leave("k30");
  EXPECT_EQ(line.spacing(), 1s);
}

TEST(AdmissionLineTest, AKeyThatStopsComingBackIsForgotten) {
  FakeClock clock;
  AdmissionLine line(&clock, 5ms, 1s, 60s);
  line.Wait("gone", 0ms);
  clock.Advance(30s);
  EXPECT_EQ(line.Wait("b", 0ms), 5ms);
  clock.Advance(31s);
  // "gone" was last seen 61 s ago: "b" is first now.
  EXPECT_EQ(line.Wait("b", 0ms), 0ms);
  EXPECT_EQ(line.size(), 1u);
}

}  // namespace
}  // namespace brfed::federation
