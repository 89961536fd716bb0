// Watch semantics over HTTP: resumption without loss or duplicates, 410 once history moved
// on, bookmarks only when asked, and many concurrent streams without starving requests.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/apiserver/api_util.h"
#include "tests/harness/harness.h"

namespace brfed::testing {
namespace {

using nlohmann::json;

class WatchTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args = {}) {
    Result<ApiServer> s = StartApiServer({.dir = dir_.path(), .name = "watch", .extra_args = args});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    ASSERT_EQ(CreateNamespace(server_.Client(), "w").status, 201);
  }
  TempDir dir_;
  ApiServer server_;
};

TEST_F(WatchTest, ResumeAfterDroppedStreamMissesNothingAndRepeatsNothing) {
  Start();
  HttpClient c = server_.Client();
  std::string start = Rv(c.Request("GET", "/api/v1/namespaces/w/configmaps"));
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(CreateConfigMap(c, "w", "a" + std::to_string(i)).status, 201);
  WatchEvents first;
  c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=" + start,
      [&](const std::string& d) {
        first.Feed(d);
        return first.events.size() < 2;  // drop the stream after two events
      },
      20s);
  ASSERT_GE(first.events.size(), 2u);
  std::string last = first.events[1]["object"]["metadata"]["resourceVersion"];
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(CreateConfigMap(c, "w", "b" + std::to_string(i)).status, 201);
  WatchEvents second;
  c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&timeoutSeconds=2&resourceVersion=" + last,
      [&](const std::string& d) {
        second.Feed(d);
        return true;
      },
      20s);
  std::vector<std::string> names;
  for (size_t i = 0; i < 2; ++i) names.push_back(first.events[i]["object"]["metadata"]["name"]);
  for (const json& e : second.events) names.push_back(e["object"]["metadata"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1"}));
}

TEST_F(WatchTest, ExpiredResourceVersionGets410) {
  Start({"--watch-history", "3"});
  HttpClient c = server_.Client();
  std::string start = Rv(c.Request("GET", "/api/v1/namespaces/w/configmaps"));
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(CreateConfigMap(c, "w", "c" + std::to_string(i)).status, 201);
  WatchEvents events;
  long status = c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=" + start,
      [&](const std::string& d) {
        events.Feed(d);
        return true;
      },
      20s);
  EXPECT_EQ(status, 200);
  ASSERT_EQ(events.events.size(), 1u);
  EXPECT_EQ(events.events[0]["type"], "ERROR");
  EXPECT_EQ(events.events[0]["object"]["code"], 410);
  EXPECT_EQ(events.events[0]["object"]["reason"], "Expired");
}

// The chaos suite's "410 on resume": /admin/faults/expire-watches ends the open stream, and a
// resumption from a resourceVersion before the expiry gets 410, so the client must relist.
TEST_F(WatchTest, ExpireWatchesEndsStreamsAndResumptionGets410) {
  Start({"--enable-fault-injection"});
  HttpClient c = server_.Client();
  ASSERT_EQ(CreateConfigMap(c, "w", "before").status, 201);
  const std::string seen = Rv(c.Request("GET", "/api/v1/namespaces/w/configmaps"));
  ASSERT_EQ(CreateConfigMap(c, "w", "missed").status, 201);
  std::atomic<bool> ended{false};
  std::thread watcher([&] {
    c.Stream(
        "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=" + seen,
        [](const std::string&) { return true; }, 60s);
    ended = true;
  });
  // The stream is open once the server counts it; then the fault ends it.
  EXPECT_EQ(c.Request("POST", "/admin/faults/expire-watches").status, 200);
  EXPECT_TRUE(WaitFor(
      [&] {
        if (ended) return true;
        c.Request("POST", "/admin/faults/expire-watches");
        return false;
      },
      30s));
  watcher.join();
  WatchEvents resumed;
  c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=" + seen,
      [&](const std::string& d) {
        resumed.Feed(d);
        return true;
      },
      20s);
  ASSERT_EQ(resumed.events.size(), 1u);
  EXPECT_EQ(resumed.events[0]["type"], "ERROR");
  EXPECT_EQ(resumed.events[0]["object"]["code"], 410);
  // A relist and a watch from its resourceVersion work again.
  const std::string relisted = Rv(c.Request("GET", "/api/v1/namespaces/w/configmaps"));
  ASSERT_EQ(CreateConfigMap(c, "w", "after").status, 201);
  WatchEvents fresh;
  c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&timeoutSeconds=2&resourceVersion=" + relisted,
      [&](const std::string& d) {
        fresh.Feed(d);
        return true;
      },
      20s);
  ASSERT_EQ(fresh.events.size(), 1u);
  EXPECT_EQ(fresh.events[0]["object"]["metadata"]["name"], "after");
}

TEST_F(WatchTest, BookmarksOnlyWhenAllowedAndTyped) {
  Start({"--bookmark-interval-seconds", "1"});
  HttpClient c = server_.Client();
  WatchEvents with;
  c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=30",
      [&](const std::string& d) {
        with.Feed(d);
        return with.events.empty();
      },
      40s);
  ASSERT_FALSE(with.events.empty());
  EXPECT_EQ(with.events[0]["type"], "BOOKMARK");
  EXPECT_EQ(with.events[0]["object"]["kind"], "ConfigMap");
  EXPECT_EQ(with.events[0]["object"]["apiVersion"], "v1");
  EXPECT_FALSE(with.events[0]["object"]["metadata"].value("resourceVersion", "").empty());

  WatchEvents without;
  c.Stream(
      "/api/v1/namespaces/w/configmaps?watch=true&timeoutSeconds=3",
      [&](const std::string& d) {
        without.Feed(d);
        return true;
      },
      40s);
  for (const json& e : without.events) EXPECT_NE(e["type"], "BOOKMARK");
}

TEST_F(WatchTest, TwoHundredStreamsDoNotStarveRequests) {
  Start();
  HttpClient c = server_.Client();
  constexpr int kStreams = 200;
  ASSERT_EQ(CreateConfigMap(c, "w", "seed").status, 201);
  std::atomic<int> connected{0};
  std::atomic<int> saw_event{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&] {
      bool seeded = false, counted = false;
      HttpClient own = server_.Client();
      own.Stream(
          "/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=0",
          [&](const std::string& d) {
            if (!seeded && d.find("\"seed\"") != std::string::npos) {
              seeded = true;
              connected++;
            }
            if (!counted && d.find("\"many\"") != std::string::npos) {
              counted = true;
              saw_event++;
            }
            return !stop.load();
          },
          120s);
    });
    // Open in batches: httplib listens with a small accept backlog, and a storm of 200
    // simultaneous connects only measures SYN retries.
    if ((i + 1) % 20 == 0) WaitFor([&] { return connected.load() == i + 1; }, 30s);
  }
  EXPECT_TRUE(WaitFor([&] { return connected.load() == kStreams; }, 90s)) << connected.load();
  // Ordinary requests keep working while every stream is open.
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = c.Request("GET", "/api/v1/namespaces/w/configmaps", "", "application/json",
                               "application/json", 10s);
    EXPECT_EQ(r.status, 200) << r.error;
  }
  EXPECT_EQ(CreateConfigMap(c, "w", "many").status, 201);
  EXPECT_TRUE(WaitFor([&] { return saw_event.load() == kStreams; }, 60s)) << saw_event.load();
  stop = true;
  // A write wakes every stream so each notices `stop` on its next callback.
  CreateConfigMap(c, "w", "wake");
  for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace brfed::testing
