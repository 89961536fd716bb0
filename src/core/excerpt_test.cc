#include "core/excerpt.h"

#include <gtest/gtest.h>

#include <string>

namespace brfed {
namespace {

TEST(ExcerptTest, ShortValuesAreWhole) {
  EXPECT_EQ(Excerpt(""), "");
  EXPECT_EQ(Excerpt("0 2 * * *"), "0 2 * * *");
  EXPECT_EQ(Excerpt(std::string(kExcerptBytes, 'x')), std::string(kExcerptBytes, 'x'));
  EXPECT_EQ(Quote("1d"), "\"1d\"");
}

TEST(ExcerptTest, LongValuesAreCutAndSayTheirLength) {
  const std::string huge(1600000, '*');
  EXPECT_EQ(Excerpt(huge), std::string(kExcerptBytes, '*') + "… (1600000 bytes)");
  EXPECT_EQ(Quote(huge, 3), "\"***…\" (1600000 bytes)");
  EXPECT_LT(Excerpt(huge).size(), 300u);
}

TEST(ExcerptTest, NeverSplitsAUtf8Character) {
  // "é" is two bytes: a cut after 3 bytes of "aéé" would split the second one.
  EXPECT_EQ(Excerpt("a\xC3\xA9\xC3\xA9", 3), "a\xC3\xA9… (5 bytes)");
  EXPECT_EQ(Excerpt("\xE2\x82\xAC\xE2\x82\xAC", 2), "… (6 bytes)");  // € is three bytes
}

}  // namespace
}  // namespace brfed
