#include "core/bytes.h"

#include <gtest/gtest.h>

namespace brfed {
namespace {

TEST(HumanizeBytes, MatchesGoHumanize) {
  const std::pair<unsigned long long, const char*> cases[] = {
      {0, "0 B"},
      {1, "1 B"},
      {9, "9 B"},
      {10, "10 B"},
      {999, "999 B"},
      {1000, "1.0 kB"},
      {1023, "1.0 kB"},
      {1500, "1.5 kB"},
      {9999, "10 kB"},
      {82854982, "83 MB"},
      {83000000, "83 MB"},
      {1000000000, "1.0 GB"},
      {1900000000000ULL, "1.9 TB"},
      {5500000000000000ULL, "5.5 PB"},
      {18446744073709551615ULL, "18 EB"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(HumanizeBytes(in), want) << in;
}

}  // namespace
}  // namespace brfed
