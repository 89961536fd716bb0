#include "core/shutdown_signals.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace brfed {
namespace {

TEST(ShutdownSignals, SigtermRunsTheHandlerOnceOnItsThread) {
  ShutdownSignals signals;
  std::mutex mu;
  std::condition_variable cv;
  int got = 0;
  int calls = 0;
  signals.OnSignal([&](int sig) {
    std::lock_guard<std::mutex> lock(mu);
    got = sig;
    ++calls;
    cv.notify_all();
  });
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return calls > 0; }));
  EXPECT_EQ(got, SIGTERM);
  lock.unlock();
  signals.Disarm();
  EXPECT_EQ(calls, 1);
}

TEST(ShutdownSignals, DisarmWithoutASignalReturns) {
  ShutdownSignals signals;
  bool called = false;
  signals.OnSignal([&](int) { called = true; });
  signals.Disarm();
  signals.Disarm();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace brfed
