// Client behaviour against a scripted cpp-httplib server on loopback: typed errors, retries
// only where safe, Retry-After, re-authentication after 401, shared connections and
// credentials, watch framing, watch errors, idle timeout and Cancel.
#include "kube/client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kube/credentials.h"
#include "kube/rate_limiter.h"
#include "kube/testing/testing_util.h"

namespace brfed::kube {
namespace {

using namespace std::chrono_literals;

// An exec plugin issuing "tok-<n>" on its n-th run (no expiry).
constexpr const char* kCountingPlugin = R"(#!/bin/sh
n=$(cat "$(dirname "$0")/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$(dirname "$0")/count"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s"}}' $n
)";

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  // `rc` aimed at the test server.
  RestConfig MakeConfig(RestConfig rc) const {
    rc.context_name = "test";
    rc.server = "http://127.0.0.1:" + std::to_string(port_);
    rc.timeout = 5s;
    return rc;
  }
  std::shared_ptr<Client> MakeClient(RestConfig rc = {}) {
    auto c = NewClient(MakeConfig(std::move(rc)));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }
  static std::string StatusBody(int code, const std::string& reason, const std::string& msg) {
    return nlohmann::json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                          {"code", code},     {"reason", reason},   {"message", msg}}
        .dump();
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ClientTest, TypedErrorsCarryReasonAndMessage) {
  struct Case {
    int http;
    std::string reason;
    Code code;
  };
  std::vector<Case> cases = {
      {404, "NotFound", Code::kNotFound},    {409, "AlreadyExists", Code::kAlreadyExists},
      {409, "Conflict", Code::kConflict},    {410, "Expired", Code::kGone},
      {422, "Invalid", Code::kInvalid},      {403, "Forbidden", Code::kForbidden},
      {400, "BadRequest", Code::kBadRequest}};
  std::atomic<int> which{0};
  server_.Post(R"(/api/v1/namespaces/ns/configmaps)", [&](const auto&, auto& res) {
    const Case& c = cases[which.load()];
    res.status = c.http;
    res.set_content(StatusBody(c.http, c.reason, "msg-" + c.reason), "application/json");
  });
  auto client = MakeClient();
  for (size_t i = 0; i < cases.size(); ++i) {
    which = static_cast<int>(i);
    auto r = client->Create(resources::ConfigMap(), "ns", nlohmann::json{{"a", 1}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), cases[i].code) << cases[i].reason;
    EXPECT_EQ(r.status().http_status(), cases[i].http);
    EXPECT_EQ(r.status().reason(), cases[i].reason);
    EXPECT_EQ(r.status().message(), "msg-" + cases[i].reason);
  }
}

TEST_F(ClientTest, RetriesGetOn503ButNotPost) {
  std::atomic<int> gets{0}, posts{0};
  server_.Get("/api/v1/namespaces/ns/configmaps/x", [&](const auto&, auto& res) {
    if (++gets < 3) {
      res.status = 503;
      res.set_content(StatusBody(503, "ServiceUnavailable", "busy"), "application/json");
      return;
    }
    res.set_content(R"({"metadata":{"name":"x"}})", "application/json");
  });
  server_.Post("/api/v1/namespaces/ns/configmaps", [&](const auto&, auto& res) {
    ++posts;
    res.status = 503;
    res.set_content(StatusBody(503, "ServiceUnavailable", "busy"), "application/json");
  });
  auto client = MakeClient();
  auto got = client->Get(resources::ConfigMap(), "ns", "x");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(gets.load(), 3);
  auto created = client->Create(resources::ConfigMap(), "ns", nlohmann::json::object());
  EXPECT_EQ(created.status().code(), Code::kUnavailable);
  EXPECT_EQ(posts.load(), 1);
}

TEST_F(ClientTest, TooManyRequestsHonoursRetryAfterForAnyVerb) {
  std::atomic<int> calls{0};
  server_.Patch("/api/v1/namespaces/ns/configmaps/x", [&](const auto& req, auto& res) {
    EXPECT_EQ(req.get_header_value("Content-Type"), "application/merge-patch+json");
    if (++calls == 1) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content(StatusBody(429, "TooManyRequests", "slow down"), "application/json");
      return;
    }
    res.set_content(R"({"ok":true})", "application/json");
  });
  auto client = MakeClient();
  auto r = client->Patch(resources::ConfigMap(), "ns", "x", PatchType::kMerge,
                         nlohmann::json{{"data", {{"k", "v"}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(ClientTest, RefusedConnectionIsUnavailable) {
  RestConfig rc;
  rc.context_name = "gone";
  rc.server = "http://127.0.0.1:1";
  rc.timeout = 2s;
  auto client = NewClient(rc);
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Get(resources::ConfigMap(), "ns", "x");
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:1"), std::string::npos);
}

TEST_F(ClientTest, ReauthenticatesOnceAfter401) {
  testing::TempDir dir;
  std::string plugin = dir.Write("plugin", kCountingPlugin, true);
  server_.Get("/api/v1/namespaces/ns/configmaps/x", [&](const auto& req, auto& res) {
    if (req.get_header_value("Authorization") != "Bearer tok-2") {
      res.status = 401;
      res.set_content(StatusBody(401, "Unauthorized", "expired"), "application/json");
      return;
    }
    res.set_content("{}", "application/json");
  });
  RestConfig rc;
  rc.exec = ExecConfig{"client.authentication.k8s.io/v1", plugin};
  auto client = MakeClient(rc);
  auto r = client->Get(resources::ConfigMap(), "ns", "x");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

// Counts the connections a client reports opening.
class ConnectionCounter final : public ClientMetrics {
 public:
  void ObserveRequest(std::string_view, std::string_view, int, double) override {}
  void WatchRestart(std::string_view, std::string_view) override {}
  void Relist(std::string_view, std::string_view) override {}
  void ExecRefresh(std::string_view, bool) override {}
  void ConnectionsOpened(std::string_view, int count) override { opened += count; }
  std::atomic<int> opened{0};
};

TEST_F(ClientTest, ClientsSharingAPoolAndCredentialsReuseEachOthersConnectionAndToken) {
  testing::TempDir dir;
  std::string plugin = dir.Write("plugin", kCountingPlugin, true);
  std::mutex mu;
  std::vector<int> client_ports;  // one per request: the connection it came on
  std::vector<std::string> tokens;
  server_.Get("/version", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    client_ports.push_back(req.remote_port);
    tokens.push_back(req.get_header_value("Authorization"));
    res.set_content(R"({"gitVersion":"v1.29.0"})", "application/json");
  });
  RestConfig shared = MakeConfig({});
  shared.exec = ExecConfig{"client.authentication.k8s.io/v1", plugin};
  shared.shared_credentials = NewCredentialSource(shared);
  shared.shared_connections = NewConnectionPool();
  ConnectionCounter often_metrics, rarely_metrics;
  auto often = NewClient(shared, &often_metrics);
  auto rarely = NewClient(shared, &rarely_metrics);
  ASSERT_TRUE(often.ok() && rarely.ok());
  ASSERT_TRUE((*often)->Request("GET", "/version", nullptr).ok());
  ASSERT_TRUE((*rarely)->Request("GET", "/version", nullptr).ok());
  RestConfig own = shared;  // the same server, but a pool and a credential of its own
  own.shared_credentials = nullptr;
  own.shared_connections = nullptr;
  ConnectionCounter own_metrics;
  auto alone = NewClient(own, &own_metrics);
  ASSERT_TRUE(alone.ok());
  ASSERT_TRUE((*alone)->Request("GET", "/version", nullptr).ok());

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(client_ports.size(), 3u);
  EXPECT_EQ(client_ports[1], client_ports[0]);  // the rarely used client took the kept one
  EXPECT_NE(client_ports[2], client_ports[0]);
  EXPECT_EQ(often_metrics.opened, 1);
  EXPECT_EQ(rarely_metrics.opened, 0);
  EXPECT_EQ(own_metrics.opened, 1);
  // One plugin run served both sharing clients; the one with its own source ran it again.
  EXPECT_EQ(tokens, (std::vector<std::string>{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}));
}

TEST_F(ClientTest, QueryParametersAreEncoded) {
  std::string seen;
  server_.Get("/apis/pingcap.com/v1alpha1/backups", [&](const auto& req, auto& res) {
    seen = req.get_param_value("labelSelector") + "|" + req.get_param_value("limit") + "|" +
           req.get_param_value("continue");
    res.set_content(R"({"items":[],"metadata":{"resourceVersion":"5"}})", "application/json");
  });
  auto client = MakeClient();
  ListOptions o;
  o.label_selector = "a=b,c in (d e)";
  o.limit = 10;
  o.continue_token = "x/y+z";
  auto r = client->List(resources::Backup(), "", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen, "a=b,c in (d e)|10|x/y+z");
}

TEST_F(ClientTest, AListLeavesManagedFieldsOutWhenAsked) {
  server_.Get("/apis/pingcap.com/v1alpha1/backups", [&](const auto&, auto& res) {
    res.set_content(R"({"items":[{"metadata":{"name":"a","managedFields":[{"manager":"m"}]},
                                  "spec":{"managedFields":"spec's own"}}],
                        "metadata":{"resourceVersion":"5"}})",
                    "application/json");
  });
  auto client = MakeClient();
  ListOptions o;
  auto kept = client->List(resources::Backup(), "", o);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_NE(JsonAt((*kept)["items"][0], {"metadata", "managedFields"}), nullptr);
  o.strip_managed_fields = true;
  auto stripped = client->List(resources::Backup(), "", o);
  ASSERT_TRUE(stripped.ok()) << stripped.status().ToString();
  const Json& item = (*stripped)["items"][0];
  EXPECT_EQ(JsonAt(item, {"metadata", "managedFields"}), nullptr);
  EXPECT_EQ(JsonStringAt(item, {"metadata", "name"}), "a");
  EXPECT_EQ(JsonStringAt(item, {"spec", "managedFields"}), "spec's own");
  EXPECT_EQ(JsonStringAt(*stripped, {"metadata", "resourceVersion"}), "5");
}

TEST_F(ClientTest, WatchFramesLinesAcrossChunks) {
  server_.Get("/api/v1/namespaces/ns/configmaps", [&](const httplib::Request& req, auto& res) {
    EXPECT_EQ(req.get_param_value("watch"), "1");
    EXPECT_EQ(req.get_param_value("resourceVersion"), "7");
    EXPECT_EQ(req.get_param_value("allowWatchBookmarks"), "true");
    res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
      std::string a =
          R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"8"}}})";
      std::string b =
          "\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n";
      sink.write(a.data(), 10);  // split mid-object
      std::this_thread::sleep_for(20ms);
      sink.write(a.data() + 10, a.size() - 10);
      sink.write(b.data(), b.size());
      sink.done();
      return true;
    });
  });
  auto client = MakeClient();
  WatchOptions o;
  o.resource_version = "7";
  auto w = client->Watch(resources::ConfigMap(), "ns", o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto e1 = (*w)->Next();
  ASSERT_TRUE(e1.ok() && e1->has_value()) << e1.status().ToString();
  EXPECT_EQ((*e1)->type, WatchEvent::Type::kAdded);
  EXPECT_EQ(JsonStringAt(*(*e1)->object, {"metadata", "name"}), "a");
  auto e2 = (*w)->Next();
  ASSERT_TRUE(e2.ok() && e2->has_value());
  EXPECT_EQ((*e2)->type, WatchEvent::Type::kBookmark);
  auto end = (*w)->Next();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_FALSE(end->has_value());
}

TEST_F(ClientTest, WatchGoneIsReturnedFromWatch) {
  server_.Get("/api/v1/configmaps", [&](const auto&, auto& res) {
    res.status = 410;
    res.set_content(StatusBody(410, "Expired", "too old resource version"), "application/json");
  });
  auto client = MakeClient();
  auto w = client->Watch(resources::ConfigMap(), "", WatchOptions{});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kGone);
}

TEST_F(ClientTest, WatchCancelUnblocksAndIdleTimeoutFires) {
  std::atomic<bool> stop{false};
  server_.Get("/api/v1/configmaps", [&](const auto&, auto& res) {
    res.set_chunked_content_provider("application/json", [&](size_t, httplib::DataSink& sink) {
      std::string first = "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}\n";
      sink.write(first.data(), first.size());
      while (!stop && sink.is_writable()) std::this_thread::sleep_for(20ms);
      sink.done();
      return true;
    });
  });
  auto client = MakeClient();
  auto w = client->Watch(resources::ConfigMap(), "", WatchOptions{});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Next().ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    (*w)->Cancel();
  });
  auto r = (*w)->Next();  // blocks until Cancel
  canceller.join();
  EXPECT_EQ(r.status().code(), Code::kCancelled);

  WatchOptions idle;
  idle.idle_timeout = 1s;
  auto w2 = client->Watch(resources::ConfigMap(), "", idle);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE((*w2)->Next().ok());
  auto r2 = (*w2)->Next();
  EXPECT_EQ(r2.status().code(), Code::kTimeout) << r2.status().ToString();
  stop = true;
}

TEST(WatchEventTest, ParsesTypesAndRejectsGarbage) {
  EXPECT_EQ(ParseWatchEvent(R"({"type":"DELETED","object":{}})")->type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(ParseWatchEvent(R"({"type":"ERROR","object":{"kind":"Status","code":410}})")->type,
            WatchEvent::Type::kError);
  EXPECT_EQ(ParseWatchEvent(R"({"kind":"Status","code":500})")->type, WatchEvent::Type::kError);
  EXPECT_FALSE(ParseWatchEvent("{not json").ok());
  EXPECT_FALSE(ParseWatchEvent(R"({"type":"WHAT","object":{}})").ok());
  EXPECT_FALSE(ParseWatchEvent(R"({"type":"ADDED"})").ok());
  const std::string owned =
      R"({"type":"MODIFIED","object":{"metadata":{"name":"a","managedFields":[{"manager":"m"}]}}})";
  auto kept = ParseWatchEvent(owned);
  ASSERT_TRUE(kept.ok());
  EXPECT_NE(JsonAt(*kept->object, {"metadata", "managedFields"}), nullptr);
  auto stripped = ParseWatchEvent(owned, /*strip_managed_fields=*/true);
  ASSERT_TRUE(stripped.ok());
  EXPECT_EQ(JsonAt(*stripped->object, {"metadata", "managedFields"}), nullptr);
  EXPECT_EQ(JsonStringAt(*stripped->object, {"metadata", "name"}), "a");
}

TEST(RateLimiterTest, BurstThenQps) {
  FakeClock clock;
  RateLimiter limiter(10, 3, &clock);
  EXPECT_EQ(limiter.Reserve().count(), 0);
  EXPECT_EQ(limiter.Reserve().count(), 0);
  EXPECT_EQ(limiter.Reserve().count(), 0);
  EXPECT_EQ(limiter.Reserve(), 100ms);
  EXPECT_EQ(limiter.Reserve(), 200ms);
  clock.Advance(1s);  // refills, capped at burst
  EXPECT_EQ(limiter.Reserve().count(), 0);
}

// Busy tells a caller that need not go now (one opening a GC pause) whether the bucket holds
// its reserve: nobody waiting and at least that share of the burst free. It takes nothing.
TEST(RateLimiterTest, BusyUntilTheReserveIsFree) {
  FakeClock clock;
  RateLimiter limiter(10, 10, &clock);
  EXPECT_FALSE(limiter.Busy(0.5).has_value());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limiter.Reserve().count(), 0);
  // 4 tokens left, 5 to keep: one more, a tenth of a second away.
  EXPECT_EQ(limiter.Busy(0.5), 100ms);
  EXPECT_FALSE(limiter.Busy(0.4).has_value());
  EXPECT_FALSE(limiter.Busy().has_value());  // at least one token
  clock.Advance(100ms);
  EXPECT_FALSE(limiter.Busy(0.5).has_value());
  EXPECT_FALSE(limiter.Busy(0.5).has_value());  // still: Busy took nothing
  // A reserve above the burst is the whole burst.
  EXPECT_EQ(limiter.Busy(2), 500ms);
  EXPECT_FALSE(RateLimiter(0, 0, &clock).Busy(1).has_value());  // unlimited
}

// Clients sharing a bucket: a high-priority waiter is served before a normal one that came
// first (the member writes a GC pause waits for, ahead of new backups' creates). Two tokens a
// second, so the order is settled long before the next token.
TEST(RateLimiterTest, HighPriorityWaitersGoFirst) {
  RateLimiter limiter(2, 1);
  limiter.Wait();  // the burst is gone; the next token is half a second away
  std::mutex mu;
  std::vector<std::string> order;
  std::thread normal([&] {
    limiter.Wait(RateLimiter::Priority::kNormal);
    std::lock_guard<std::mutex> lock(mu);
    order.push_back("normal");
  });
  ASSERT_TRUE(testing::WaitFor([&] { return limiter.Waiting() == 1; }, 10s));
  std::thread high([&] {
    limiter.Wait(RateLimiter::Priority::kHigh);
    std::lock_guard<std::mutex> lock(mu);
    order.push_back("high");
  });
  normal.join();
  high.join();
  EXPECT_EQ(order, (std::vector<std::string>{"high", "normal"}));
  EXPECT_EQ(limiter.Waiting(), 0u);
}

TEST(ResourceTest, Paths) {
  EXPECT_EQ(resources::ConfigMap().Path("ns", "x"), "/api/v1/namespaces/ns/configmaps/x");
  EXPECT_EQ(resources::VolumeBackup().Path("ns", "b", "status"),
            "/apis/federation.pingcap.com/v1alpha1/namespaces/ns/volumebackups/b/status");
  EXPECT_EQ(resources::Backup().Path(""), "/apis/pingcap.com/v1alpha1/backups");
  EXPECT_EQ(resources::Namespace().Path("ignored", "n"), "/api/v1/namespaces/n");
  EXPECT_EQ(resources::Lease().ApiVersion(), "coordination.k8s.io/v1");
  EXPECT_EQ(resources::Secret().ApiVersion(), "v1");
}

}  // namespace
}  // namespace brfed::kube
