#include "runtime/status_batcher.h"

#include <gtest/gtest.h>

#include <vector>

namespace brfed::runtime {
namespace {

using std::chrono::milliseconds;

struct Step {
  milliseconds advance;
  enum { kHold, kWritten, kWrittenDeferrable } op;
  std::string object;
  std::optional<milliseconds> hold;  // kHold: the expected answer (nullopt = write now)
};

TEST(StatusBatcherTest, ScenariosWithAFakeClock) {
  struct Scenario {
    std::string name;
    milliseconds window;
    std::vector<Step> steps;
    milliseconds max_window{0};
  } scenarios[] = {
      {"the first change opens the window; later ones wait for its end",
       milliseconds(200),
       {{milliseconds(0), Step::kHold, "a", milliseconds(200)},
        {milliseconds(50), Step::kHold, "a", milliseconds(150)},
        {milliseconds(149), Step::kHold, "a", milliseconds(1)},
        {milliseconds(1), Step::kHold, "a", std::nullopt}}},
      {"a write closes the window; the next change opens a new one",
       milliseconds(200),
       {{milliseconds(0), Step::kHold, "a", milliseconds(200)},
        {milliseconds(200), Step::kHold, "a", std::nullopt},
        {milliseconds(0), Step::kWritten, "a", {}},
        {milliseconds(10), Step::kHold, "a", milliseconds(200)}}},
      {"a transition written inside the window closes it",
       milliseconds(200),
       {{milliseconds(0), Step::kHold, "a", milliseconds(200)},
        {milliseconds(30), Step::kWritten, "a", {}},
        {milliseconds(300), Step::kHold, "a", milliseconds(200)}}},
      {"windows are per object",
       milliseconds(200),
       {{milliseconds(0), Step::kHold, "a", milliseconds(200)},
        {milliseconds(100), Step::kHold, "b", milliseconds(200)},
        {milliseconds(100), Step::kHold, "a", std::nullopt},
        {milliseconds(0), Step::kHold, "b", milliseconds(100)}}},
      {"a zero window never holds",
       milliseconds(0),
       {{milliseconds(0), Step::kHold, "a", std::nullopt}}},
      {"each deferrable write doubles the next window, up to the maximum",
       milliseconds(200),
       {{milliseconds(0), Step::kHold, "a", milliseconds(200)},
        {milliseconds(200), Step::kHold, "a", std::nullopt},
        {milliseconds(0), Step::kWrittenDeferrable, "a", {}},
        {milliseconds(10), Step::kHold, "a", milliseconds(400)},
        {milliseconds(400), Step::kHold, "a", std::nullopt},
        {milliseconds(0), Step::kWrittenDeferrable, "a", {}},
        {milliseconds(0), Step::kHold, "a", milliseconds(500)},
        {milliseconds(0), Step::kHold, "b", milliseconds(200)}},
       milliseconds(500)},
      {"a transition starts the window afresh",
       milliseconds(200),
       {{milliseconds(0), Step::kHold, "a", milliseconds(200)},
        {milliseconds(200), Step::kWrittenDeferrable, "a", {}},
        {milliseconds(0), Step::kHold, "a", milliseconds(400)},
        {milliseconds(50), Step::kWritten, "a", {}},
        {milliseconds(0), Step::kHold, "a", milliseconds(200)}},
       milliseconds(30000)},
      {"without a maximum the window never grows",
       milliseconds(200),
       {{milliseconds(0), Step::kWrittenDeferrable, "a", {}},
        {milliseconds(0), Step::kHold, "a", milliseconds(200)}}},
  };
  for (const Scenario& s : scenarios) {
    FakeClock clock;
    StatusBatcher batcher(&clock, s.window, s.max_window);
    for (size_t i = 0; i < s.steps.size(); ++i) {
      const Step& step = s.steps[i];
      clock.Advance(step.advance);
      if (step.op != Step::kHold) {
        batcher.Written(step.object, step.op == Step::kWrittenDeferrable);
        continue;
      }
      auto got = batcher.Hold(step.object);
      ASSERT_EQ(got.has_value(), step.hold.has_value()) << s.name << " step " << i;
      if (got) {
        EXPECT_EQ(*got, *step.hold) << s.name << " step " << i;
      }
    }
  }
}

// Book: a status write's token from the status bucket, booked once and waited for without
// blocking; the write made when it is due uses it, and a write made closes the booking.
TEST(StatusBatcherTest, BookedTokensAreWaitedForOnceAndUsedByTheWrite) {
  FakeClock clock;
  StatusBatcher batcher(&clock, milliseconds(200));
  int reserved = 0;
  milliseconds next_wait{0};
  auto reserve = [&] {
    ++reserved;
    return std::chrono::nanoseconds(next_wait);
  };
  // A free token: write now, nothing booked.
  EXPECT_FALSE(batcher.Book("a", reserve).has_value());
  EXPECT_EQ(reserved, 1);
  // No token: booked once, then the same booking is waited for.
  next_wait = milliseconds(300);
  EXPECT_EQ(batcher.Book("a", reserve), milliseconds(300));
  clock.Advance(milliseconds(100));
  EXPECT_EQ(batcher.Book("a", reserve), milliseconds(200));
  EXPECT_EQ(reserved, 2);
  // Objects book apart.
  EXPECT_EQ(batcher.Book("b", reserve), milliseconds(300));
  EXPECT_EQ(reserved, 3);
  // Due: the write goes and uses it; the next write books again.
  clock.Advance(milliseconds(200));
  EXPECT_FALSE(batcher.Book("a", reserve).has_value());
  EXPECT_EQ(batcher.Book("a", reserve), milliseconds(300));
  EXPECT_EQ(reserved, 4);
  // A write made (a transition that found its token) drops the booking with the window.
  batcher.Written("a");
  next_wait = milliseconds(0);
  EXPECT_FALSE(batcher.Book("a", reserve).has_value());
  EXPECT_EQ(reserved, 5);
}

}  // namespace
}  // namespace brfed::runtime
