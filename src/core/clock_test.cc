#include "core/clock.h"

#include <gtest/gtest.h>

namespace brfed {
namespace {

TEST(FakeClock, MovesOnlyWhenTold) {
  FakeClock clock;
  Time t0 = clock.Now();
  SteadyTime s0 = clock.Steady();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(std::chrono::seconds(90));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(90));
  EXPECT_EQ(clock.Steady() - s0, std::chrono::seconds(90));
  clock.SetNow(t0);  // wall time may go back; steady time never does
  EXPECT_EQ(clock.Now(), t0);
  EXPECT_EQ(clock.Steady() - s0, std::chrono::seconds(90));
}

TEST(RealClock, IsMonotonic) {
  Clock* clock = RealClock::Get();
  SteadyTime a = clock->Steady();
  SteadyTime b = clock->Steady();
  EXPECT_LE(a, b);
  EXPECT_EQ(RealClock::Get(), clock);
}

}  // namespace
}  // namespace brfed
