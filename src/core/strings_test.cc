#include "core/strings.h"

#include <gtest/gtest.h>

#include <utility>

namespace brfed {
namespace {

TEST(JoinTest, PutsTheSeparatorOnlyBetweenItems) {
  EXPECT_EQ(Join(std::vector<std::string>{}, "; "), "");
  EXPECT_EQ(Join({"a"}, "; "), "a");
  EXPECT_EQ(Join({"a", "b", "c"}, "; "), "a; b; c");
  EXPECT_EQ(Join({"", "b"}, ", "), ", b");
}

TEST(JoinTest, MapsEachItemFirst) {
  std::vector<std::pair<std::string, int>> items = {{"x", 1}, {"y", 2}};
  EXPECT_EQ(
      Join(items, ", ", [](const auto& p) { return p.first + "=" + std::to_string(p.second); }),
      "x=1, y=2");
}

}  // namespace
}  // namespace brfed
