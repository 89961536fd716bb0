#include "runtime/watcher.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::runtime {
namespace {

using namespace std::chrono_literals;
using Kind = WatchMachine::ActionKind;
using Out = WatchMachine::OutputKind;
using kube::WatchEvent;

Json Obj(const std::string& name, const std::string& rv) {
  return {{"metadata", {{"namespace", "ns"}, {"name", name}, {"resourceVersion", rv}}}};
}
Json ListOf(std::vector<Json> items, const std::string& rv) {
  return {{"items", items}, {"metadata", {{"resourceVersion", rv}}}};
}
Result<std::optional<WatchEvent>> Event(WatchEvent::Type t, Json obj) {
  return std::optional<WatchEvent>(WatchEvent{t, std::make_shared<const Json>(std::move(obj))});
}

BackoffOptions NoJitter() {
  BackoffOptions b;
  b.jitter = 0;
  return b;
}

TEST(WatchMachineTest, ListThenWatchFromListVersion) {
  WatchMachine m(NoJitter());
  SteadyTime t{};
  EXPECT_EQ(m.Next().kind, Kind::kList);
  auto outs = m.OnList(ListOf({Obj("a", "3"), Obj("b", "4")}, "10"), t);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].kind, Out::kReplace);
  EXPECT_FALSE(outs[0].relist);
  EXPECT_EQ(outs[0].objects.size(), 2u);
  EXPECT_EQ(m.Next().kind, Kind::kStartWatch);
  EXPECT_EQ(m.Next().resource_version, "10");
  EXPECT_TRUE(m.OnWatchStarted(Status::Ok(), t).empty());
  EXPECT_EQ(m.Next().kind, Kind::kReadEvent);
  outs = m.OnEvent(Event(WatchEvent::Type::kModified, Obj("a", "11")), t);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].kind, Out::kApply);
  outs = m.OnEvent(Event(WatchEvent::Type::kDeleted, Obj("b", "12")), t);
  EXPECT_EQ(outs[0].kind, Out::kDelete);
  EXPECT_EQ(m.resource_version(), "12");
}

TEST(WatchMachineTest, BookmarkAdvancesVersionAndAnEndResumesFromIt) {
  WatchMachine m(NoJitter());
  SteadyTime t{};
  (void)m.OnList(ListOf({}, "5"), t);
  (void)m.OnWatchStarted(Status::Ok(), t);
  EXPECT_TRUE(m.OnEvent(Event(WatchEvent::Type::kBookmark, Obj("", "20")), t).empty());
  EXPECT_EQ(m.resource_version(), "20");
  // Normal end of stream: re-watch at once from the bookmark.
  EXPECT_TRUE(m.OnEvent(std::optional<WatchEvent>(), t).empty());
  EXPECT_EQ(m.Next().kind, Kind::kStartWatch);
  EXPECT_EQ(m.Next().resource_version, "20");
  // An error the server answered (an ERROR event): back off, then resume from the same
  // version (no relist).
  (void)m.OnWatchStarted(Status::Ok(), t);
  auto outs = m.OnEvent(Event(WatchEvent::Type::kError, {{"kind", "Status"}, {"code", 500}}), t);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].kind, Out::kError);
  EXPECT_TRUE(outs[0].watch_restart);
  EXPECT_EQ(m.Next().kind, Kind::kWait);
  EXPECT_EQ(m.Next().wait, 800ms);
  m.OnWaited();
  EXPECT_EQ(m.Next().kind, Kind::kStartWatch);
  EXPECT_EQ(m.Next().resource_version, "20");
}

// A failure without any HTTP answer (refused, reset, timed out) may hide a replaced server whose
// versions have already passed ours, so it is followed by a list, never by a resume: the watch
// dropped mid-stream, a watch start refused, and a resume's version check refused.
TEST(WatchMachineTest, AFailureWithoutAnAnswerIsFollowedByAList) {
  enum class Where { kMidStream, kWatchStart, kVersionCheck };
  for (Where where : {Where::kMidStream, Where::kWatchStart, Where::kVersionCheck}) {
    SCOPED_TRACE(static_cast<int>(where));
    WatchMachine m(NoJitter());
    SteadyTime t{};
    (void)m.OnList(ListOf({Obj("a", "3")}, "10"), t);
    const Status refused(Code::kUnavailable, "Recv failure: Connection reset by peer");
    std::vector<WatchMachine::Output> outs;
    if (where == Where::kWatchStart) {
      outs = m.OnWatchStarted(refused, t);
    } else {
      (void)m.OnWatchStarted(Status::Ok(), t);
      if (where == Where::kMidStream) {
        outs = m.OnEvent(refused, t);
      } else {
        (void)m.OnEvent(std::optional<WatchEvent>(), t);  // a normal end, then a resume
        ASSERT_TRUE(m.Next().check_version);
        outs = m.OnWatchStarted(refused, t);
      }
    }
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0].kind, Out::kError);
    ASSERT_EQ(m.Next().kind, Kind::kWait);
    m.OnWaited();
    ASSERT_EQ(m.Next().kind, Kind::kList);
    outs = m.OnList(ListOf({Obj("b", "2")}, "4"), t);
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_TRUE(outs[0].relist);
    EXPECT_EQ(m.Next().resource_version, "4");
  }
}

TEST(WatchMachineTest, GoneRelistsFromHttpStatusAndFromErrorEvent) {
  WatchMachine m(NoJitter());
  SteadyTime t{};
  (void)m.OnList(ListOf({Obj("a", "1")}, "5"), t);
  auto outs = m.OnWatchStarted(Status(Code::kGone, "too old"), t);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(m.Next().kind, Kind::kList);
  outs = m.OnList(ListOf({Obj("b", "9")}, "9"), t);
  EXPECT_TRUE(outs[0].relist);
  (void)m.OnWatchStarted(Status::Ok(), t);
  outs = m.OnEvent(
      Event(WatchEvent::Type::kError, {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}}),
      t);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].error.code(), Code::kGone);
  EXPECT_EQ(m.Next().kind, Kind::kList);
  // Another ERROR code backs off and re-watches from the last version.
  (void)m.OnList(ListOf({}, "30"), t);
  (void)m.OnWatchStarted(Status::Ok(), t);
  (void)m.OnEvent(Event(WatchEvent::Type::kError, {{"kind", "Status"}, {"code", 500}}), t);
  EXPECT_EQ(m.Next().kind, Kind::kWait);
  m.OnWaited();
  EXPECT_EQ(m.Next().kind, Kind::kStartWatch);
  EXPECT_EQ(m.Next().resource_version, "30");
}

// kube-apiserver's answer to a list not older than a version it has not reached: how an API
// server restarted without its data shows itself (tests/fidelity ResumingAheadOfTheServer).
Status TooLarge() {
  Json body = {
      {"kind", "Status"},
      {"apiVersion", "v1"},
      {"status", "Failure"},
      {"message", "Timeout: Too large resource version: 12, current: 3"},
      {"reason", "Timeout"},
      {"details",
       {{"causes",
         {{{"reason", "ResourceVersionTooLarge"}, {"message", "Too large resource version"}}}},
        {"retryAfterSeconds", 1}}},
      {"code", 504}};
  return kube::StatusFromResponse(504, body.dump());
}

// Every resume (after a normal end or an answered error) checks the version first; the
// watch right after a list does not. What the check answers decides what comes next.
TEST(WatchMachineTest, ResumeChecksTheVersionAndRelistsAfterAReset) {
  // Every failed check is also reported as one error output.
  struct Row {
    const char* name;
    Status answer;
    Kind next;
  };
  const Row rows[] = {
      {"still known: watch", Status::Ok(), Kind::kReadEvent},
      {"reset (504 too large): relist at once", TooLarge(), Kind::kList},
      {"too old (410): relist at once", Status(Code::kGone, "too old"), Kind::kList},
      {"unavailable (503): back off, then check again",
       kube::StatusFromResponse(503, "service unavailable"), Kind::kWait},
  };
  for (const Row& row : rows) {
    for (bool answered_error : {false, true}) {
      SCOPED_TRACE(std::string(row.name) +
                   (answered_error ? ", after an ERROR event" : ", after a normal end"));
      WatchMachine m(NoJitter());
      SteadyTime t{};
      (void)m.OnList(ListOf({Obj("a", "3"), Obj("b", "4")}, "10"), t);
      EXPECT_FALSE(m.Next().check_version);
      (void)m.OnWatchStarted(Status::Ok(), t);
      (void)m.OnEvent(Event(WatchEvent::Type::kModified, Obj("a", "12")), t);
      if (answered_error) {
        (void)m.OnEvent(Event(WatchEvent::Type::kError, {{"kind", "Status"}, {"code", 500}}), t);
        ASSERT_EQ(m.Next().kind, Kind::kWait);
        m.OnWaited();
      } else {
        (void)m.OnEvent(std::optional<WatchEvent>(), t);
      }
      ASSERT_EQ(m.Next().kind, Kind::kStartWatch);
      EXPECT_EQ(m.Next().resource_version, "12");
      EXPECT_TRUE(m.Next().check_version);
      auto outs = m.OnWatchStarted(row.answer, t);
      EXPECT_EQ(m.Next().kind, row.next);
      ASSERT_EQ(outs.size(), row.answer.ok() ? 0u : 1u);
      if (row.next == Kind::kWait) {
        m.OnWaited();
        EXPECT_EQ(m.Next().kind, Kind::kStartWatch);
        EXPECT_TRUE(m.Next().check_version);
      }
      if (row.next != Kind::kList) continue;
      EXPECT_EQ(outs[0].kind, Out::kError);
      // The relist is what drops the vanished objects: the fresh server's whole set.
      outs = m.OnList(ListOf({Obj("c", "2")}, "3"), t);
      ASSERT_EQ(outs.size(), 1u);
      EXPECT_EQ(outs[0].kind, Out::kReplace);
      EXPECT_TRUE(outs[0].relist);
      ASSERT_EQ(outs[0].objects.size(), 1u);
      EXPECT_EQ(m.Next().resource_version, "3");
      EXPECT_FALSE(m.Next().check_version);
    }
  }
}

TEST(WatchMachineTest, TooLargeErrorEventRelists) {
  WatchMachine m(NoJitter());
  SteadyTime t{};
  (void)m.OnList(ListOf({}, "5"), t);
  (void)m.OnWatchStarted(Status::Ok(), t);
  auto outs = m.OnEvent(Event(WatchEvent::Type::kError,
                              {{"kind", "Status"},
                               {"code", 504},
                               {"reason", "Timeout"},
                               {"message", "Timeout: Too large resource version: 9, current: 1"}}),
                        t);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].kind, Out::kError);
  EXPECT_EQ(m.Next().kind, Kind::kList);
}

TEST(WatchMachineTest, OtherTimeoutsAreNotAReset) {
  EXPECT_TRUE(kube::IsResourceVersionTooLarge(TooLarge()));
  EXPECT_FALSE(kube::IsResourceVersionTooLarge(kube::StatusFromResponse(504, "gateway timeout")));
  EXPECT_FALSE(kube::IsResourceVersionTooLarge(Status(Code::kGone, "Too large resource version")));
}

TEST(WatchMachineTest, ListFailureBacksOffExponentiallyAndResetsAfterHealth) {
  WatchMachine m(NoJitter());
  SteadyTime t{};
  std::vector<std::chrono::nanoseconds> waits;
  for (int i = 0; i < 8; ++i) {
    (void)m.OnList(Status(Code::kUnavailable, "refused"), t);
    ASSERT_EQ(m.Next().kind, Kind::kWait);
    waits.push_back(m.Next().wait);
    m.OnWaited();
    EXPECT_EQ(m.Next().kind, Kind::kList);
    t += 1s;
  }
  EXPECT_EQ(waits[0], 800ms);
  EXPECT_EQ(waits[1], 1600ms);
  EXPECT_EQ(waits[2], 3200ms);
  EXPECT_EQ(waits[5], 25600ms);
  EXPECT_EQ(waits[6], 30s);  // capped
  EXPECT_EQ(waits[7], 30s);
  t += 3min;  // healthy period
  (void)m.OnList(Status(Code::kUnavailable, "refused"), t);
  EXPECT_EQ(m.Next().wait, 800ms);
  EXPECT_FALSE(m.listed_once());
}

TEST(BackoffTest, JitterStaysInRange) {
  BackoffOptions o;
  o.jitter = 0.5;
  Backoff b(o, 42);
  SteadyTime t{};
  auto d = b.Next(t);
  EXPECT_GE(d, 400ms);
  EXPECT_LE(d, 800ms);
  d = b.Next(t);
  EXPECT_GE(d, 800ms);
  EXPECT_LE(d, 1600ms);
}

}  // namespace
}  // namespace brfed::runtime
