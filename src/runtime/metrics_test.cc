#include "runtime/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace brfed::runtime {
namespace {

TEST(MetricsTest, GoldenExposition) {
  MetricsRegistry r;
  auto& c = r.AddCounter("demo_requests_total", "Requests with \\ and\nnewline.", {"code", "path"});
  c.WithLabels({"200", "/a\"b\\c\nd"}).Inc();
  c.WithLabels({"200", "/a\"b\\c\nd"}).Inc(2);
  c.WithLabels({"500", "/x"}).Inc(-5);  // ignored: counters only go up
  r.AddGauge("demo_up", "Up.").Set(1);
  auto& h = r.AddHistogram("demo_seconds", "Latency.", {"op"}, {0.1, 1});
  h.WithLabels({"get"}).Observe(0.05);
  h.WithLabels({"get"}).Observe(0.1);
  h.WithLabels({"get"}).Observe(3);
  const std::string want =
      "# HELP demo_requests_total Requests with \\\\ and\\nnewline.\n"
      "# TYPE demo_requests_total counter\n"
      "demo_requests_total{code=\"200\",path=\"/a\\\"b\\\\c\\nd\"} 3\n"
      "demo_requests_total{code=\"500\",path=\"/x\"} 0\n"
      "# HELP demo_seconds Latency.\n"
      "# TYPE demo_seconds histogram\n"
      "demo_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
      "demo_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
      "demo_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
      "demo_seconds_sum{op=\"get\"} 3.15\n"
      "demo_seconds_count{op=\"get\"} 3\n"
      "# HELP demo_up Up.\n"
      "# TYPE demo_up gauge\n"
      "demo_up 1\n";
  EXPECT_EQ(r.Expose(), want);
}

TEST(MetricsTest, SameNameReturnsSameFamilyAndClashesAreDetached) {
  MetricsRegistry r;
  auto& a = r.AddCounter("x_total", "X.", {"controller"});
  auto& b = r.AddCounter("x_total", "X.", {"controller"});
  EXPECT_EQ(&a, &b);
  auto& clash = r.AddGauge("x_total", "X.");  // wrong type: detached, never rendered
  clash.Set(5);
  auto& bad = r.AddCounter("bad name", "Bad.");
  bad.Inc();
  auto& bad_label = r.AddCounter("ok_total", "Ok.", {"le"});
  bad_label.Inc();
  a.WithLabels({"c"}).Inc();
  a.WithLabels({"too", "many"}).Inc();  // fixed up, not a crash
  std::string text = r.Expose();
  EXPECT_EQ(text.find("bad name"), std::string::npos);
  EXPECT_EQ(text.find("ok_total"), std::string::npos);
  EXPECT_EQ(text.find("x_total 5"), std::string::npos);
  EXPECT_NE(text.find("x_total{controller=\"c\"} 1"), std::string::npos);
}

TEST(MetricsTest, SpecialValues) {
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
}

TEST(MetricsTest, ClientMetricsArePerCluster) {
  MetricsRegistry r;
  auto m = NewClientMetrics(&r);
  m->ObserveRequest("eks-1", "GET", 200, 0.01);
  m->WatchRestart("eks-1", "backups.pingcap.com");
  m->Relist("eks-2", "backups.pingcap.com");
  std::string text = r.Expose();
  EXPECT_NE(text.find("rest_client_requests_total{cluster=\"eks-1\",verb=\"GET\",code=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("watch_restarts_total{cluster=\"eks-1\",resource=\"backups.pingcap.com\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("relists_total{cluster=\"eks-2\""), std::string::npos);
}

}  // namespace
}  // namespace brfed::runtime
