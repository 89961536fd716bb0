#include "runtime/process_metrics.h"

#include <gtest/gtest.h>

namespace brfed::runtime {
namespace {

// A /proc/self/stat line whose comm holds a space and a parenthesis.
constexpr char kSelfStat[] =
    "4242 (br-fed (x) mgr) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 12 0 5000 "
    "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
constexpr char kProcStat[] = "cpu  1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 9\n";

TEST(ProcessMetricsTest, ParsesProcStat) {
  auto s = ParseProcStat(kSelfStat, kProcStat, 100, 4096);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 4.0);  // (250 + 150) / 100
  EXPECT_DOUBLE_EQ(s->resident_bytes, 2560.0 * 4096);
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 104857600.0);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1700000050.0);  // btime + 5000 / 100
}

TEST(ProcessMetricsTest, MalformedInputGivesNothing) {
  EXPECT_FALSE(ParseProcStat("", kProcStat, 100, 4096).has_value());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2 3", kProcStat, 100, 4096).has_value());
  EXPECT_FALSE(ParseProcStat(kSelfStat, "cpu 1\n", 100, 4096).has_value());
  EXPECT_FALSE(ParseProcStat(kSelfStat, kProcStat, 0, 4096).has_value());
}

TEST(ProcessMetricsTest, ParsesMaxOpenFiles) {
  constexpr char kLimits[] =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1048576              1048576              files     \n";
  EXPECT_EQ(ParseMaxOpenFiles(kLimits), 1048576.0);
  EXPECT_FALSE(ParseMaxOpenFiles("Max open files unlimited unlimited files\n").has_value());
  EXPECT_FALSE(ParseMaxOpenFiles("").has_value());
}

TEST(ProcessMetricsTest, ThisProcessIsMeasured) {
  MetricsRegistry r;
  {
    ProcessMetrics p(&r);
    std::string text = r.Expose();
    for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                             "process_start_time_seconds ", "process_open_fds ", "process_max_fds ",
                             "process_virtual_memory_bytes "}) {
      auto at = text.find(std::string("\n") + name);
      ASSERT_NE(at, std::string::npos) << name << text;
      double value = std::stod(text.substr(at + 1 + std::string(name).size()));
      if (std::string(name) != "process_cpu_seconds_total ") {
        EXPECT_GT(value, 0) << name;
      }
    }
  }
  EXPECT_NO_FATAL_FAILURE(r.Expose());  // the collector is gone with its object
}

}  // namespace
}  // namespace brfed::runtime
