#include "cli/table.h"

#include <gtest/gtest.h>

#include "cli/style.h"

namespace brfed::cli {
namespace {

TEST(RenderTable, PadsColumnsLikeKubectl) {
  EXPECT_EQ(RenderTable({"NAME", "STATUS"}, {{"a", "Running"}, {"longer-name", "Complete"}}),
            "NAME          STATUS\n"
            "a             Running\n"
            "longer-name   Complete\n");
}

TEST(RenderTable, IgnoresColourCodesInWidthAndFillsMissingCells) {
  Style color(true);
  const std::string out = RenderTable({"A", "B", "C"}, {{color.Red("x"), "y"}});
  EXPECT_EQ(out, "A   B   C\n" + color.Red("x") + "   y\n");
  EXPECT_EQ(DisplayWidth(color.Green("abc")), 3u);
}

TEST(HumanDuration, MatchesKubectlBuckets) {
  using namespace std::chrono_literals;
  EXPECT_EQ(HumanDuration(0s), "0s");
  EXPECT_EQ(HumanDuration(119s), "119s");
  EXPECT_EQ(HumanDuration(125s), "2m5s");
  EXPECT_EQ(HumanDuration(600s), "10m");
  EXPECT_EQ(HumanDuration(5h), "5h");
  EXPECT_EQ(HumanDuration(72h), "3d");
  EXPECT_EQ(HumanDuration(-1s), "<invalid>");
}

TEST(AgeSince, ParsesTimestampsAndToleratesGarbage) {
  const Time now = *ParseRfc3339("2026-01-01T00:01:00Z");
  EXPECT_EQ(AgeSince("2026-01-01T00:00:30Z", now), "30s");
  EXPECT_EQ(AgeSince("", now), "<unknown>");
  EXPECT_EQ(AgeSince("yesterday", now), "<unknown>");
}

TEST(Style, ColourOnlyOnTerminalWithoutNoColor) {
  EXPECT_TRUE(ShouldUseColor(true, nullptr));
  EXPECT_TRUE(ShouldUseColor(true, ""));
  EXPECT_FALSE(ShouldUseColor(true, "1"));
  EXPECT_FALSE(ShouldUseColor(false, nullptr));
  EXPECT_EQ(Style(false).Phase("Failed"), "Failed");
  EXPECT_EQ(Style(true).Phase("Failed"), "\x1b[31mFailed\x1b[0m");
  EXPECT_EQ(Style(true).Phase("Complete"), "\x1b[32mComplete\x1b[0m");
}

}  // namespace
}  // namespace brfed::cli
