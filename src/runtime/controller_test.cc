#include "runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <thread>

#include "kube/testing/testing_util.h"
#include "runtime/metrics.h"

namespace brfed::runtime {
namespace {

using namespace std::chrono_literals;

using kube::testing::WaitFor;

TEST(ControllerTest, MetricsArePreCreatedAtZero) {
  MetricsRegistry r;
  Controller c(
      "volumebackup", [](const std::string&) { return ReconcileOutcome{}; }, 3, &r);
  std::string text = r.Expose();
  for (const char* want : {
           "controller_runtime_reconcile_total{controller=\"volumebackup\",result=\"error\"} 0",
           "controller_runtime_reconcile_total{controller=\"volumebackup\",result=\"success\"} 0",
           "controller_runtime_reconcile_total{controller=\"volumebackup\",result=\"requeue\"} 0",
           "controller_runtime_reconcile_total{controller=\"volumebackup\",result=\"requeue_"
           "after\"} 0",
           "controller_runtime_reconcile_errors_total{controller=\"volumebackup\"} 0",
           "controller_runtime_reconcile_time_seconds_count{controller=\"volumebackup\"} 0",
           "controller_runtime_max_concurrent_reconciles{controller=\"volumebackup\"} 3",
           "controller_runtime_active_workers{controller=\"volumebackup\"} 0",
           "workqueue_depth{name=\"volumebackup\"} 0",
           "workqueue_adds_total{name=\"volumebackup\"} 0",
           "workqueue_retries_total{name=\"volumebackup\"} 0",
           "workqueue_queue_duration_seconds_count{name=\"volumebackup\"} 0",
           "workqueue_work_duration_seconds_count{name=\"volumebackup\"} 0",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want;
  }
}

// A started controller "c" whose backoff runs on a fake clock and whose metrics are read back
// from its own registry.
struct ControllerOnFakeClock {
  ControllerOnFakeClock(ReconcileFn fn, int workers)
      : controller("c", std::move(fn), workers, &registry, &clock) {
    controller.Start();
  }
  bool Exposes(const std::string& series) const {
    return registry.Expose().find(series) != std::string::npos;
  }

  FakeClock clock;
  MetricsRegistry registry;
  Controller controller;
};

TEST(ControllerTest, ExceptionIsContainedCountedAndRetried) {
  std::atomic<int> calls{0};
  ControllerOnFakeClock h(
      [&](const std::string&) -> Result<ReconcileOutcome> {
        if (++calls == 1) throw std::runtime_error("kaboom");
        return ReconcileOutcome{};
      },
      2);
  Controller& c = h.controller;
  c.queue().Add("ns/x");
  ASSERT_TRUE(WaitFor([&] { return c.queue().DelayedLen() == 1; }));
  EXPECT_TRUE(h.Exposes("controller_runtime_reconcile_panics_total{controller=\"c\"} 1"));
  h.clock.Advance(1s);  // first backoff step
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 2; }));
  ASSERT_TRUE(WaitFor([&] {
    return h.Exposes("controller_runtime_reconcile_total{controller=\"c\",result=\"success\"} 1");
  }));
  EXPECT_EQ(c.queue().NumRequeues("ns/x"), 0);  // success forgets the backoff
  c.Stop();
}

TEST(ControllerTest, ErrorClassDecidesRequeue) {
  std::map<std::string, Status> errors = {
      {"terminal", Status(Code::kInvalid, "bad spec")},
      {"retry", Status(Code::kUnavailable, "down")},
      {"throttled", Status(Code::kTooManyRequests, "slow")},
  };
  std::atomic<int> done{0};
  ControllerOnFakeClock h(
      [&](const std::string& key) -> Result<ReconcileOutcome> {
        ++done;
        if (key == "later") return ReconcileOutcome{30s};
        if (key == "terminal") return TerminalError(errors.at(key));  // only explicit is terminal
        return errors.at(key);
      },
      2);
  Controller& c = h.controller;
  for (const char* k : {"terminal", "retry", "throttled", "later"}) c.queue().Add(k);
  ASSERT_TRUE(WaitFor([&] { return done.load() == 4 && c.queue().DelayedLen() == 3; }));
  EXPECT_EQ(c.queue().NumRequeues("terminal"), 0);
  EXPECT_EQ(c.queue().NumRequeues("retry"), 1);
  EXPECT_EQ(c.queue().NumRequeues("throttled"), 0);
  EXPECT_TRUE(h.Exposes("controller_runtime_terminal_reconcile_errors_total{controller=\"c\"} 1"));
  EXPECT_TRUE(
      h.Exposes("controller_runtime_reconcile_total{controller=\"c\",result=\"requeue_after\"} 1"));
  EXPECT_TRUE(h.Exposes("controller_runtime_reconcile_errors_total{controller=\"c\"} 3"));
  h.clock.Advance(1s);  // "retry" is due; the terminal key never comes back
  ASSERT_TRUE(WaitFor([&] { return done.load() == 5; }));
  h.clock.Advance(30s);
  ASSERT_TRUE(WaitFor([&] { return done.load() >= 7; }));  // throttled (5 s) and later (30 s)
  c.Stop();
}

TEST(ControllerTest, DecideAgainIsARateLimitedRequeueNotAnError) {
  std::atomic<int> calls{0};
  ControllerOnFakeClock h(
      [&](const std::string&) -> Result<ReconcileOutcome> {
        return ++calls == 1 ? ReconcileOutcome::DecideAgain() : ReconcileOutcome{};
      },
      1);
  Controller& c = h.controller;
  c.queue().Add("k");
  ASSERT_TRUE(WaitFor([&] { return c.queue().NumRequeues("k") == 1; }));
  h.clock.Advance(1s);
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 2; }));
  EXPECT_TRUE(
      h.Exposes("controller_runtime_reconcile_total{controller=\"c\",result=\"requeue\"} 1"));
  EXPECT_TRUE(h.Exposes("controller_runtime_reconcile_errors_total{controller=\"c\"} 0"));
  c.Stop();
}

TEST(ControllerTest, StopWaitsForRunningReconcile) {
  std::atomic<bool> entered{false}, finished{false};
  Controller c(
      "c",
      [&](const std::string&) -> Result<ReconcileOutcome> {
        entered = true;
        std::this_thread::sleep_for(100ms);
        finished = true;
        return ReconcileOutcome{};
      },
      1, nullptr);
  c.Start();
  c.queue().Add("k");
  ASSERT_TRUE(WaitFor([&] { return entered.load(); }));
  c.Stop();
  EXPECT_TRUE(finished.load());
}

TEST(ControllerTest, DefaultErrorPolicy) {
  // Terminality is never inferred from a code: only TerminalError (a ReconcileOutcome) is.
  EXPECT_EQ(DefaultErrorPolicy(Status(Code::kInvalidArgument, "")).action,
            ErrorAction::kRetryWithBackoff);
  EXPECT_EQ(DefaultErrorPolicy(Status(Code::kConflict, "")).action, ErrorAction::kRetryWithBackoff);
  EXPECT_EQ(DefaultErrorPolicy(Status(Code::kNotFound, "")).action, ErrorAction::kRetryWithBackoff);
  EXPECT_EQ(DefaultErrorPolicy(Status(Code::kTooManyRequests, "")).action,
            ErrorAction::kRequeueAfter);
}

}  // namespace
}  // namespace brfed::runtime
