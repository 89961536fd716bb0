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
  // Coming back keeps a key's place; admitted keys leave, those behind move up, and the one
  // now at the front is named so that it can try at once.
  EXPECT_EQ(line.Leave("a"), std::optional<std::string>("b"));
  EXPECT_EQ(line.Wait("c", 1ms), 5ms);
  EXPECT_EQ(line.Wait("b", 0ms), 0ms);
  EXPECT_EQ(line.Leave("unknown"), std::nullopt);
  EXPECT_EQ(line.size(), 2u);
  EXPECT_EQ(line.Leave("c"), std::optional<std::string>("b"));
  EXPECT_EQ(line.Leave("b"), std::nullopt);  // nobody left to wake
}

TEST(AdmissionLineTest, NoKeyWaitsLongerThanTheMaximum) {
  FakeClock clock;
  AdmissionLine line(&clock, 100ms, 1s, 60s);
  for (int i = 0; i < 30; ++i) line.Wait("k" + std::to_string(i), 0ms);
  EXPECT_EQ(line.Wait("k5", 0ms), 500ms);
  EXPECT_EQ(line.Wait("k29", 0ms), 1s);  // 29 x 100 ms, capped
  EXPECT_EQ(line.Wait("k29", 3s), 3s);   // a longer wait it is given still counts
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
