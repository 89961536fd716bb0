#include "runtime/work_queue.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "runtime/metrics.h"

namespace brfed::runtime {
namespace {

using namespace std::chrono_literals;

// Whether Get() hands out a key within a short real-time window (the queue polls its clock at
// least every 50 ms). Only "not ready" outcomes depend on the window, and those fail safe.
std::optional<std::string> GetWithin(WorkQueue& q, std::chrono::milliseconds window) {
  auto fut = std::async(std::launch::async, [&q] { return q.Get(); });
  if (fut.wait_for(window) == std::future_status::ready) return fut.get();
  q.ShutDown();  // releases the getter; the queue is unusable afterwards
  return fut.get();
}

TEST(WorkQueueTest, DedupesKeys) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  q.Add("a");
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(*q.Get(), "a");
  EXPECT_EQ(*q.Get(), "b");
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsRequeuedOnDone) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  q.Add("a");
  ASSERT_EQ(*q.Get(), "a");
  q.Add("a");
  q.Add("a");
  EXPECT_EQ(q.Len(), 0u);  // not handed to a second worker while processing
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(*q.Get(), "a");
  q.Done("a");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, NoConcurrentProcessingOfOneKeyUnderLoad) {
  WorkQueue q("t");
  std::mutex mu;
  std::map<std::string, int> in_flight;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.Get()) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (++in_flight[*key] > 1) overlap = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard<std::mutex> lock(mu);
          --in_flight[*key];
        }
        ++processed;
        q.Done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.Add("k" + std::to_string(i % 3));
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((q.Len() > 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GT(processed.load(), 0);
}

TEST(WorkQueueTest, RateLimitedBackoffGrowsCapsAndResetsOnForget) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  q.AddRateLimited("k");  // 1 s
  EXPECT_EQ(q.DelayedLen(), 1u);
  clock.Advance(999ms);
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(1ms);
  ASSERT_EQ(*q.Get(), "k");
  q.Done("k");
  q.AddRateLimited("k");  // 2 s
  clock.Advance(1999ms);
  q.Add("other");
  EXPECT_EQ(*q.Get(), "other");  // k is not due yet
  q.Done("other");
  clock.Advance(1ms);
  ASSERT_EQ(*q.Get(), "k");
  q.Done("k");
  EXPECT_EQ(q.NumRequeues("k"), 2);
  for (int i = 0; i < 10; ++i) q.AddRateLimited("k");  // merges; delays up to the 100 s cap
  EXPECT_EQ(q.NumRequeues("k"), 12);
  clock.Advance(4s);  // the earliest of the merged requests (4 s) wins
  ASSERT_EQ(*q.Get(), "k");
  q.Done("k");
  q.Forget("k");
  EXPECT_EQ(q.NumRequeues("k"), 0);
  q.AddRateLimited("k");
  clock.Advance(1s);
  EXPECT_EQ(*q.Get(), "k");
  q.Done("k");
}

TEST(WorkQueueTest, BackoffIsCappedAtMax) {
  FakeClock clock;
  WorkQueue q("t", &clock, RateLimitOptions{1s, 100s});
  for (int i = 0; i < 7; ++i) {
    q.AddRateLimited("k");
    clock.Advance(200s);
    ASSERT_EQ(*q.Get(), "k");
    q.Done("k");
  }
  q.AddRateLimited("k");  // 2^7 s > 100 s: capped
  clock.Advance(99s);
  q.Add("probe");
  EXPECT_EQ(*q.Get(), "probe");
  q.Done("probe");
  clock.Advance(1s);
  EXPECT_EQ(*q.Get(), "k");
}

TEST(WorkQueueTest, AddAfterMergesToEarliest) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  q.AddAfter("k", 10s);
  q.AddAfter("k", 5s);
  q.AddAfter("k", 20s);
  EXPECT_EQ(q.DelayedLen(), 1u);
  clock.Advance(5s);
  ASSERT_EQ(*q.Get(), "k");
  q.Done("k");
  EXPECT_EQ(q.DelayedLen(), 0u);
  // An immediate add supersedes a pending delayed one.
  q.AddAfter("j", 1h);
  q.Add("j");
  EXPECT_EQ(q.DelayedLen(), 0u);
  EXPECT_EQ(*q.Get(), "j");
}

TEST(WorkQueueTest, HighPriorityKeysAreHandedOutFirstInTheirOrder) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  constexpr auto kHigh = WorkQueue::Priority::kHigh;
  q.Add("n1");
  q.Add("h1", kHigh);
  q.Add("n2");
  q.Add("h2", kHigh);
  // A queued normal key added again with high priority moves to the high line, once.
  q.Add("n2", kHigh);
  q.Add("n2", kHigh);
  q.Add("h1");  // a normal add does not lower a key
  EXPECT_EQ(q.Len(), 4u);
  EXPECT_EQ(q.HighLen(), 3u);
  for (const char* want : {"h1", "h2", "n2", "n1"}) {
    auto got = q.Get();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, want);
  }
  EXPECT_EQ(q.HighLen(), 0u);
  // Added high while being processed: re-queued high by Done, ahead of a normal key.
  q.Add("n1", kHigh);
  q.Add("n3");
  q.Done("n1");
  EXPECT_EQ(*q.Get(), "n1");
  // Handed out, it is normal again.
  q.Done("n1");
  q.Add("n1");
  EXPECT_EQ(q.HighLen(), 0u);
}

TEST(WorkQueueTest, DelayedKeysKeepTheirPriority) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  q.Add("n");
  q.AddAfter("d", 5s, WorkQueue::Priority::kHigh);
  q.AddAfter("d", 10s);  // a later normal requeue lowers neither the time nor the priority
  clock.Advance(5s);
  EXPECT_EQ(*q.Get(), "d");
  EXPECT_EQ(*q.Get(), "n");
  // A high AddAfter of a key already due now raises it at once.
  q.Add("a");
  q.Add("b");
  q.AddAfter("b", 1h, WorkQueue::Priority::kHigh);
  EXPECT_EQ(q.DelayedLen(), 0u);
  EXPECT_EQ(*q.Get(), "b");
}

TEST(WorkQueueTest, DelayedKeyIsNotHandedOutEarly) {
  FakeClock clock;
  WorkQueue q("t", &clock);
  q.AddAfter("k", 10s);
  EXPECT_FALSE(GetWithin(q, 200ms).has_value());
}

TEST(WorkQueueTest, ShutDownWakesBlockedGetters) {
  WorkQueue q("t");
  auto fut = std::async(std::launch::async, [&] { return q.Get(); });
  q.ShutDown();
  EXPECT_FALSE(fut.get().has_value());
  q.Add("late");  // ignored after shutdown
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ExportsMetrics) {
  FakeClock clock;
  MetricsRegistry r;
  WorkQueue q("vbk", &clock, {}, &r);
  q.Add("a");
  q.AddRateLimited("b");
  std::string text = r.Expose();
  EXPECT_NE(text.find("workqueue_depth{name=\"vbk\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("workqueue_adds_total{name=\"vbk\"} 1"), std::string::npos);
  EXPECT_NE(text.find("workqueue_retries_total{name=\"vbk\"} 1"), std::string::npos);
  EXPECT_NE(text.find("workqueue_queue_duration_seconds_count{name=\"vbk\"} 0"), std::string::npos);
}

TEST(WorkQueueTest, InFlightWorkIsMeasuredAtScrapeTime) {
  FakeClock clock;
  MetricsRegistry r;
  {
    WorkQueue q("vbk", &clock, {}, &r);
    q.Add("a");
    ASSERT_EQ(q.Get(), "a");
    clock.Advance(std::chrono::seconds(5));
    q.Add("b");
    ASSERT_EQ(q.Get(), "b");
    clock.Advance(std::chrono::seconds(1));
    std::string text = r.Expose();
    EXPECT_NE(text.find("workqueue_unfinished_work_seconds{name=\"vbk\"} 7"), std::string::npos)
        << text;
    EXPECT_NE(text.find("workqueue_longest_running_processor_seconds{name=\"vbk\"} 6"),
              std::string::npos)
        << text;
    q.Done("a");
    q.Done("b");
    text = r.Expose();
    EXPECT_NE(text.find("workqueue_unfinished_work_seconds{name=\"vbk\"} 0"), std::string::npos)
        << text;
    EXPECT_NE(text.find("workqueue_longest_running_processor_seconds{name=\"vbk\"} 0"),
              std::string::npos);
  }
  // The queue is gone: scraping must not touch it.
  EXPECT_NE(r.Expose().find("workqueue_depth"), std::string::npos);
}

}  // namespace
}  // namespace brfed::runtime
