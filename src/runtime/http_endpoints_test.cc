#include "runtime/http_endpoints.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "runtime/metrics.h"

namespace brfed::runtime {
namespace {

TEST(HttpEndpointsTest, ServesMetricsHealthAndReadiness) {
  MetricsRegistry r;
  r.AddCounter("demo_total", "Demo.").Inc();
  std::atomic<bool> ready{false};
  HttpEndpoints e("127.0.0.1:0", &r, [&] { return ready.load(); });
  ASSERT_TRUE(e.Start().ok());
  ASSERT_GT(e.port(), 0);
  httplib::Client c("127.0.0.1", e.port());
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m->body.find("demo_total 1\n"), std::string::npos);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 503);
  ready = true;
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  e.Stop();
}

TEST(HttpEndpointsTest, BadAddressesAreErrors) {
  MetricsRegistry r;
  EXPECT_EQ(HttpEndpoints("nonsense", &r, nullptr).Start().code(), Code::kInvalidArgument);
  EXPECT_EQ(HttpEndpoints("127.0.0.1:99999", &r, nullptr).Start().code(), Code::kInvalidArgument);
  EXPECT_EQ(HttpEndpoints("127.0.0.1:x", &r, nullptr).Start().code(), Code::kInvalidArgument);
  HttpEndpoints first("127.0.0.1:0", &r, nullptr);
  ASSERT_TRUE(first.Start().ok());
  HttpEndpoints second("127.0.0.1:" + std::to_string(first.port()), &r, nullptr);
  EXPECT_EQ(second.Start().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace brfed::runtime
