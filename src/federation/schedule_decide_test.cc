#include "federation/schedule_decide.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "cron/cron.h"

namespace brfed::federation {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

Time T(const char* rfc3339) {
  Result<Time> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.value_or(Time());
}

Json Schedule(const std::string& name, const std::string& cron,
              const char* created = "2024-05-17T10:00:30Z") {
  return Json{
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeBackupSchedule"},
      {"metadata", {{"name", name}, {"namespace", "ns"}, {"creationTimestamp", created}}},
      {"spec",
       {{"schedule", cron},
        {"backupTemplate",
         {{"clusters", {{{"k8sClusterName", "a"}, {"tcName", "tc"}, {"tcNamespace", "tidb"}}}},
          {"template",
           {{"br", {{"concurrency", 4}}},
            {"s3", {{"provider", "aws"}, {"bucket", "b"}, {"prefix", "p"}}}}}}}}}};
}

enum class St { kRunning, kComplete, kFailed };

Json Backup(const std::string& name, const char* created, St state, bool skip_gc = false,
            bool deleting = false) {
  Json b = {{"metadata", {{"name", name}, {"namespace", "ns"}, {"creationTimestamp", created}}},
            {"spec", Json::object()}};
  if (state == St::kComplete) {
    b["status"] = {{"phase", "Complete"},
                   {"timeCompleted", created},
                   {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}};
  } else if (state == St::kFailed) {
    b["status"] = {{"phase", "Failed"}};
  } else {
    b["status"] = {{"phase", "Running"}};
  }
  if (skip_gc) b["skipGC"] = true;
  if (deleting) b["metadata"]["deletionTimestamp"] = created;
  return b;
}

// Backups created at hour N of 2024-05-17, named "<state><N>" by their state: c Complete,
// f Failed, r Running, k Complete with skipGC.
std::vector<Json> HourlyBackups(std::initializer_list<std::string> names) {
  std::vector<Json> out;
  for (const std::string& name : names) {
    const std::string created = "2024-05-17T0" + name.substr(1) + ":00:00Z";
    const char state = name[0];
    out.push_back(Backup(name, created.c_str(),
                         state == 'f'   ? St::kFailed
                         : state == 'r' ? St::kRunning
                                        : St::kComplete,
                         /*skip_gc=*/state == 'k'));
  }
  return out;
}

struct Fixture {
  Json schedule;
  std::vector<Json> backups;
  std::vector<std::pair<Json, std::vector<Json>>> peers;
  std::vector<Json> orphan_group_backups;
  std::string claim_holder;
  std::vector<std::string> deletes_in_flight;
  Status template_validation;
  std::map<std::string, std::string> unreachable;

  // The schedule's last backup `name` (slot `slot`) completed at `completed`, and is cached.
  void LastBackupCompleted(const std::string& name, const char* slot, const char* completed) {
    schedule["status"] = {{"lastBackup", name}, {"lastBackupTime", slot}};
    backups.push_back(Backup(name, completed, St::kComplete));
  }

  ScheduleDecision Decide(const char* now) const {
    ScheduleDecideInput in;
    in.self.schedule = &schedule;
    for (const Json& b : backups) in.self.backups.push_back(&b);
    in.self.template_validation = template_validation;
    for (const auto& [peer, peer_backups] : peers) {
      ScheduleObservation obs;
      obs.schedule = &peer;
      for (const Json& b : peer_backups) obs.backups.push_back(&b);
      in.group_peers.push_back(obs);
    }
    for (const Json& b : orphan_group_backups) in.orphan_group_backups.push_back(&b);
    in.claim_holder = claim_holder;
    in.deletes_in_flight = deletes_in_flight;
    in.unreachable = unreachable;
    in.now = T(now);
    return DecideSchedule(in);
  }

  // Decides at `now`, expecting no create and the wait reason `reason`.
  ScheduleDecision DecideWaiting(const char* now, const std::string& reason) const {
    ScheduleDecision d = Decide(now);
    EXPECT_TRUE(d.create.empty()) << reason;
    EXPECT_EQ(d.wait_reason, reason);
    return d;
  }
};

const Json* FindCondition(const Json& status, const std::string& type) {
  if (!status.contains("conditions")) return nullptr;
  for (const Json& c : status["conditions"]) {
    if (JsonStringAt(c, {"type"}) == type) return &c;
  }
  return nullptr;
}

// Issue 18, item 3: a data plane the template names is unreachable: the schedule says so,
// naming the cluster and its last error, once (one Event) and looks again soon; it clears on
// recovery; clusters the template does not name are not its concern.
TEST(ScheduleDecideTest, DataPlaneUnreachableNamesTheClusterAndClearsOnRecovery) {
  struct Row {
    const char* name;
    std::map<std::string, std::string> unreachable;
    const char* want_status;  // "" = no condition
    int want_events;
  };
  Fixture f{Schedule("daily", "TZ=UTC 0 * * * *")};
  const Row rows[] = {
      {"another cluster is down: not ours", {{"z", "probe: timed out"}}, "", 0},
      {"ours is down", {{"a", "probe: connection refused"}}, "True", 1},
      {"still down, same error: no second Event", {{"a", "probe: connection refused"}}, "True", 0},
      {"it answers again", {}, "False", 0},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    f.unreachable = row.unreachable;
    ScheduleDecision d = f.Decide("2024-05-17T10:30:00Z");
    const Json& status = d.status[0];
    const Json* c = FindCondition(status, "DataPlaneUnreachable");
    int events = 0;
    for (const Event& e : d.events) events += e.reason == "DataPlaneUnreachable";
    EXPECT_EQ(events, row.want_events);
    if (std::string(row.want_status).empty()) {
      EXPECT_EQ(c, nullptr) << DumpJson(status);
    } else {
      ASSERT_NE(c, nullptr) << DumpJson(status);
      EXPECT_EQ(JsonStringAt(*c, {"status"}), row.want_status);
    }
    if (std::string(row.want_status) == "True") {
      EXPECT_NE(JsonStringAt(*c, {"message"}).find("cluster a: probe: connection refused"),
                std::string::npos)
          << JsonStringAt(*c, {"message"});
      ASSERT_TRUE(d.requeue_after.has_value());
      EXPECT_LE(*d.requeue_after, seconds(5));
    }
    EXPECT_FALSE(status.contains("phase")) << "schedules have no phase";
    f.schedule["status"] = status;
  }
}

TEST(ScheduleDecideTest, NotDueBeforeTheFirstSlot) {
  Fixture f{Schedule("daily", "TZ=UTC 0 * * * *")};
  ScheduleDecision d = f.DecideWaiting("2024-05-17T10:30:00Z", "not-due");
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_EQ(*d.requeue_after, minutes(30));
  EXPECT_FALSE(d.status_changed);
}

TEST(ScheduleDecideTest, DueSlotCreatesTheNamedBackupAsUpstream) {
  Fixture f{Schedule("daily", "TZ=UTC 0 * * * *")};
  f.schedule["metadata"]["labels"] = {{"team", "db"},
                                      {"tidb.pingcap.com/backup-schedule-group", "g"},
                                      {"tidb.pingcap.com/backup-schedule", "spoofed"}};
  f.schedule["metadata"]["annotations"] = {
      {"note", "x"}, {"kubectl.kubernetes.io/last-applied-configuration", "{}"}};
  ScheduleDecision d = f.Decide("2024-05-17T11:00:05Z");
  ASSERT_EQ(d.create.size(), 1u);
  const Json& vb = d.create[0];
  EXPECT_EQ(vb["kind"], "VolumeBackup");
  EXPECT_EQ(vb["metadata"]["name"], "daily-2024-05-17t11-00-00");
  EXPECT_EQ(vb["metadata"]["namespace"], "ns");
  const Json& labels = vb["metadata"]["labels"];
  EXPECT_EQ(labels["app.kubernetes.io/name"], "backup-schedule");
  EXPECT_EQ(labels["app.kubernetes.io/managed-by"], "backup-schedule-operator");
  EXPECT_EQ(labels["app.kubernetes.io/instance"], "daily");
  EXPECT_EQ(labels["tidb.pingcap.com/backup-schedule"], "daily");
  EXPECT_EQ(labels["tidb.pingcap.com/backup-schedule-group"], "g");
  EXPECT_EQ(labels["team"], "db");
  EXPECT_EQ(vb["metadata"]["annotations"], (Json{{"note", "x"}}));
  EXPECT_FALSE(vb["metadata"].contains("ownerReferences"));  // deleting a schedule keeps backups
  EXPECT_EQ(vb["spec"]["template"]["s3"]["prefix"], "p/-2024-05-17t11-00-00");
  EXPECT_EQ(vb["spec"]["template"]["br"]["concurrency"], 4);
  EXPECT_EQ(vb["spec"]["clusters"][0]["k8sClusterName"], "a");
  ASSERT_TRUE(d.status_changed);
  EXPECT_EQ(d.status[0]["lastBackup"], "daily-2024-05-17t11-00-00");
  EXPECT_EQ(d.status[0]["lastBackupTime"], "2024-05-17T11:00:00Z");
  EXPECT_EQ(*d.requeue_after, minutes(59) + seconds(55));
  EXPECT_EQ(d.wait_reason, "");
}

// Issue 18: the GC-pause budget annotation reaches every VolumeBackup the schedule creates.
TEST(ScheduleDecideTest, GcPauseBudgetAnnotationIsPassedOnToTheBackups) {
  Fixture f{Schedule("daily", "TZ=UTC 0 * * * *")};
  f.schedule["metadata"]["annotations"] = {{"federation.pingcap.com/gc-pause-budget", "90s"}};
  ScheduleDecision d = f.Decide("2024-05-17T11:00:05Z");
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(JsonStringAt(d.create[0],
                         {"metadata", "annotations", "federation.pingcap.com/gc-pause-budget"}),
            "90s");
}

TEST(ScheduleDecideTest, CatchingUpRunsOnlyTheNewestMissedSlot) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.LastBackupCompleted("s-2024-05-17t05-00-00", "2024-05-17T05:00:00Z", "2024-05-17T05:00:01Z");
  ScheduleDecision d = f.Decide("2024-05-17T11:30:00Z");
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.create[0]["metadata"]["name"], "s-2024-05-17t11-00-00");
  EXPECT_EQ(d.status[0]["lastBackupTime"], "2024-05-17T11:00:00Z");
}

TEST(ScheduleDecideTest, MoreThanAThousandMissedSlotsSkipAhead) {
  Fixture f{Schedule("s", "TZ=UTC * * * * *", "2024-05-01T00:00:00Z")};
  f.LastBackupCompleted("s-2024-05-16t00-00-00", "2024-05-16T00:00:00Z", "2024-05-16T00:00:01Z");
  ScheduleDecision d = f.DecideWaiting("2024-05-17T12:00:30Z", "too-many-missed");
  EXPECT_EQ(d.status[0]["allBackupCleanTime"], "2024-05-17T12:00:30Z");
  EXPECT_EQ(d.status[0]["lastBackup"], "s-2024-05-16t00-00-00");  // kept
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, "MissedSchedules");
  EXPECT_EQ(*d.requeue_after, seconds(30));
  // From the new reference the next slot runs normally.
  f.schedule["status"] = d.status[0];
  d = f.Decide("2024-05-17T12:01:02Z");
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.create[0]["metadata"]["name"], "s-2024-05-17t12-01-00");
  EXPECT_FALSE(d.status[0].contains("allBackupCleanTime"));
}

TEST(ScheduleDecideTest, ExactlyAThousandMissedSlotsStillRunTheNewest) {
  Fixture f{Schedule("s", "@every 1s", "2024-05-17T12:00:00Z")};
  ScheduleDecision d = f.Decide("2024-05-17T12:16:40Z");  // 1000 slots
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.create[0]["metadata"]["name"], "s-2024-05-17t12-16-40");
  d = f.Decide("2024-05-17T12:16:41Z");  // 1001 slots
  EXPECT_EQ(d.wait_reason, "too-many-missed");
}

TEST(ScheduleDecideTest, ClockGoingBackwardsRunsNothing) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.LastBackupCompleted("s-2024-05-17t12-00-00", "2024-05-17T12:00:00Z", "2024-05-17T12:00:01Z");
  ScheduleDecision d = f.DecideWaiting("2024-05-17T11:30:00Z", "clock-backwards");
  EXPECT_EQ(*d.requeue_after, minutes(90));
}

TEST(ScheduleDecideTest, PauseStopsBackupsButNotRetention) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["pause"] = true;
  f.schedule["spec"]["maxBackups"] = 1;
  f.backups.push_back(Backup("s-1", "2024-05-17T08:00:00Z", St::kComplete));
  f.backups.push_back(Backup("s-2", "2024-05-17T09:00:00Z", St::kComplete));
  ScheduleDecision d = f.DecideWaiting("2024-05-17T11:00:05Z", "paused");
  EXPECT_EQ(d.delete_backup, "s-1");
}

TEST(ScheduleDecideTest, OneBackupAtATimePerSchedule) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.backups.push_back(Backup("s-old", "2024-05-17T10:00:00Z", St::kRunning));
  ScheduleDecision d = f.DecideWaiting("2024-05-17T11:00:05Z", "busy");
  EXPECT_LE(*d.requeue_after, seconds(15));
  // A backup being deleted that never finished still blocks until it is gone.
  f.backups = {Backup("s-old", "2024-05-17T10:00:00Z", St::kRunning, false, true)};
  EXPECT_EQ(f.Decide("2024-05-17T11:00:05Z").wait_reason, "busy");
  // Finished (either way) no longer blocks.
  f.backups = {Backup("s-old", "2024-05-17T10:00:00Z", St::kFailed)};
  EXPECT_EQ(f.Decide("2024-05-17T11:00:05Z").create.size(), 1u);
}

TEST(ScheduleDecideTest, OurOwnUnseenCreateBlocksViaTheClaim) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.claim_holder = "s";
  f.DecideWaiting("2024-05-17T12:00:05Z", "claimed");
  f.claim_holder = "other";
  EXPECT_EQ(f.Decide("2024-05-17T12:00:05Z").wait_reason, "claimed");
}

TEST(ScheduleDecideTest, ExistingBackupForTheSlotOnlyRecordsStatus) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.backups.push_back(Backup("s-2024-05-17t11-00-00", "2024-05-17T11:00:01Z", St::kRunning));
  ScheduleDecision d = f.DecideWaiting("2024-05-17T11:00:05Z", "exists");
  EXPECT_TRUE(d.status_changed);
  EXPECT_EQ(d.status[0]["lastBackup"], "s-2024-05-17t11-00-00");
}

// Regression: deleting a peer schedule (its backups are kept) must not let the group start a
// second backup while the deleted schedule's last one still runs.
TEST(ScheduleDecideTest, ARunningBackupOfADeletedGroupScheduleStillHoldsTheGroup) {
  Fixture f{Schedule("a", "TZ=UTC 0 * * * *")};
  f.orphan_group_backups.push_back(Backup("gone-x", "2024-05-17T10:59:00Z", St::kRunning));
  f.DecideWaiting("2024-05-17T11:00:05Z", "group-busy");
  f.orphan_group_backups[0] = Backup("gone-x", "2024-05-17T10:59:00Z", St::kComplete);
  EXPECT_EQ(f.Decide("2024-05-17T11:00:05Z").create.size(), 1u);
}

TEST(ScheduleDecideTest, GroupSerialisesAcrossSchedules) {
  Fixture f{Schedule("a", "TZ=UTC 0 * * * *")};
  Json peer = Schedule("b", "TZ=UTC 30 * * * *");
  peer["status"] = {{"lastBackup", "b-x"}, {"lastBackupTime", "2024-05-17T10:30:00Z"}};
  f.peers.push_back({peer, {Backup("b-x", "2024-05-17T10:30:00Z", St::kRunning)}});
  f.DecideWaiting("2024-05-17T11:00:05Z", "group-busy");
  f.peers[0].second = {Backup("b-x", "2024-05-17T10:30:00Z", St::kComplete)};
  EXPECT_EQ(f.Decide("2024-05-17T11:00:05Z").create.size(), 1u);
}

TEST(ScheduleDecideTest, GroupMembersDueInTheSameSecondNeverBothRun) {
  // Both schedules decide from the same observations: exactly one creates, whichever order.
  Json a = Schedule("a", "TZ=UTC 0 * * * *");
  Json b = Schedule("b", "TZ=UTC 0 * * * *");
  Fixture fa{a}, fb{b};
  fa.peers.push_back({b, {}});
  fb.peers.push_back({a, {}});
  ScheduleDecision da = fa.Decide("2024-05-17T11:00:00Z");
  ScheduleDecision db = fb.Decide("2024-05-17T11:00:00Z");
  EXPECT_EQ(da.create.size(), 1u);
  EXPECT_TRUE(db.create.empty());
  EXPECT_EQ(db.wait_reason, "group-order");
  // The earlier due slot goes first regardless of names: b has waited since 10:30.
  b["spec"]["schedule"] = "TZ=UTC 30 * * * *";
  fa.peers[0].first = b;
  fb.schedule = b;
  da = fa.Decide("2024-05-17T11:00:01Z");
  db = fb.Decide("2024-05-17T11:00:01Z");
  EXPECT_TRUE(da.create.empty());
  EXPECT_EQ(da.wait_reason, "group-order");
  ASSERT_EQ(db.create.size(), 1u);
  EXPECT_EQ(db.create[0]["metadata"]["name"], "b-2024-05-17t10-30-00");
}

TEST(ScheduleDecideTest, PausedOrInvalidPeersDoNotHoldTheGroup) {
  Fixture f{Schedule("b", "TZ=UTC 0 * * * *")};
  Json paused = Schedule("a", "TZ=UTC 0 * * * *");
  paused["spec"]["pause"] = true;
  Json invalid = Schedule("a2", "not a cron");
  f.peers.push_back({paused, {}});
  f.peers.push_back({invalid, {}});
  EXPECT_EQ(f.Decide("2024-05-17T11:00:00Z").create.size(), 1u);
}

TEST(ScheduleDecideTest, RetentionByMaxBackupsDeletesOldestOneAtATime) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["maxBackups"] = 2;
  f.backups = {Backup("s-3", "2024-05-17T03:00:00Z", St::kComplete),
               Backup("s-1", "2024-05-17T01:00:00Z", St::kComplete),
               Backup("s-2", "2024-05-17T02:00:00Z", St::kComplete),
               Backup("s-4", "2024-05-17T04:00:00Z", St::kComplete)};
  ScheduleDecision d = f.Decide("2024-05-17T10:10:00Z");
  EXPECT_EQ(d.delete_backup, "s-1");
  EXPECT_NE(d.delete_reason.find("maxBackups 2"), std::string::npos) << d.delete_reason;
  // While s-1 is being deleted nothing else is.
  f.backups[1]["metadata"]["deletionTimestamp"] = "2024-05-17T10:10:00Z";
  EXPECT_EQ(f.Decide("2024-05-17T10:10:01Z").delete_backup, "");
  // Nor while our delete is in flight but not yet visible.
  f.backups[1]["metadata"].erase("deletionTimestamp");
  f.deletes_in_flight = {"s-1"};
  EXPECT_EQ(f.Decide("2024-05-17T10:10:01Z").delete_backup, "");
  // Once it is gone, the next oldest.
  f.deletes_in_flight.clear();
  f.backups.erase(f.backups.begin() + 1);
  EXPECT_EQ(f.Decide("2024-05-17T10:10:02Z").delete_backup, "s-2");
  f.backups.erase(f.backups.begin() + 1);
  EXPECT_EQ(f.Decide("2024-05-17T10:10:03Z").delete_backup, "");
}

TEST(ScheduleDecideTest, MaxBackupsZeroOrUnsetKeepsEverything) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  for (int i = 0; i < 5; ++i) {
    f.backups.push_back(Backup("s-" + std::to_string(i), "2020-01-01T00:00:00Z", St::kFailed));
  }
  EXPECT_EQ(f.Decide("2024-05-17T10:10:00Z").delete_backup, "");
  f.schedule["spec"]["maxBackups"] = 0;
  EXPECT_EQ(f.Decide("2024-05-17T10:10:00Z").delete_backup, "");
}

// Retention by maxBackups: which backup of a list goes first ("" = none).
TEST(ScheduleDecideTest, MaxBackupsPicksTheBackupToDelete) {
  struct Row {
    const char* why;
    int max_backups;
    std::vector<Json> backups;
    const char* deleted;
  };
  const Row rows[] = {
      {"failed backups go before complete ones", 3, HourlyBackups({"c1", "c2", "f3", "c4"}), "f3"},
      // Upstream would delete c1 (the oldest); failures must not push out the last good backup.
      {"never the newest complete backup", 1, HourlyBackups({"c1", "f2", "f3"}), "f2"},
      {"nor running ones", 1, HourlyBackups({"c1", "r2"}), ""},
      {"once r2 completes, c1 may go", 1, HourlyBackups({"c1", "c2"}), "c1"},
      {"skipGC backups are exempt", 1, HourlyBackups({"k1", "c2", "c3"}), "c2"},
      {"and do not count", 1, HourlyBackups({"k1", "c3"}), ""},
  };
  for (const Row& row : rows) {
    Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
    f.schedule["spec"]["maxBackups"] = row.max_backups;
    f.backups = row.backups;
    EXPECT_EQ(f.Decide("2024-05-17T10:10:00Z").delete_backup, row.deleted) << row.why;
  }
}

TEST(ScheduleDecideTest, MaxReservedTimeNeverDeletesTheNewestCompleteBackup) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["maxReservedTime"] = "1h";
  f.schedule["spec"]["maxBackups"] = 1;  // ignored: maxReservedTime wins
  f.backups = HourlyBackups({"c1", "f2"});
  EXPECT_EQ(f.Decide("2024-05-17T10:10:00Z").delete_backup, "f2");
  f.backups = HourlyBackups({"c1"});
  ScheduleDecision d = f.Decide("2024-05-17T10:10:00Z");
  EXPECT_EQ(d.delete_backup, "");
  ASSERT_TRUE(d.last_successful_backup.has_value());
  EXPECT_EQ(*d.last_successful_backup, T("2024-05-17T01:00:00Z"));
}

TEST(ScheduleDecideTest, RetentionByMaxReservedTimeIsPreferred) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["maxReservedTime"] = "3h";
  f.schedule["spec"]["maxBackups"] = 1;  // ignored: maxReservedTime wins
  f.backups = {Backup("c1", "2024-05-17T06:00:00Z", St::kComplete),
               Backup("c2", "2024-05-17T07:00:00Z", St::kComplete),
               Backup("c3", "2024-05-17T08:00:00Z", St::kComplete)};
  // Nothing expired yet: wake up just after c1 expires (06:00 + 3h).
  ScheduleDecision d = f.Decide("2024-05-17T08:30:00Z");
  EXPECT_EQ(d.delete_backup, "");
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_EQ(*d.requeue_after, minutes(30) + seconds(1));
  d = f.Decide("2024-05-17T09:00:01Z");
  EXPECT_EQ(d.delete_backup, "c1");
  EXPECT_NE(d.delete_reason.find("maxReservedTime 3h0m0s"), std::string::npos);
  // Running backups never expire.
  f.backups = {Backup("r1", "2024-05-17T01:00:00Z", St::kRunning),
               Backup("c2", "2024-05-17T07:00:00Z", St::kComplete)};
  EXPECT_EQ(f.Decide("2024-05-17T12:00:00Z").delete_backup, "");
}

// Found by fuzzing (CI): times read from objects span 1678 to 2261, and their differences
// overflowed 64-bit nanoseconds. Centuries apart they still order as they should: the old
// backup has expired, one from the far future has not (the next slot comes first), and a last
// backup time in the far future is a clock gone backwards.
TEST(ScheduleDecideTest, TimesCenturiesApartNeitherOverflowNorMisorder) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *", "1700-01-01T00:00:00Z")};
  f.schedule["spec"]["maxReservedTime"] = "1h";
  f.backups = {Backup("c1", "1700-01-01T01:00:00Z", St::kComplete),
               Backup("f2", "1700-01-01T02:00:00Z", St::kFailed)};
  EXPECT_EQ(f.Decide("2200-01-01T00:00:00Z").delete_backup, "f2");
  f.backups = {Backup("c1", "1700-01-01T01:00:00Z", St::kComplete),
               Backup("f2", "2261-01-01T00:00:00Z", St::kFailed)};
  ScheduleDecision d = f.Decide("1970-01-01T00:00:00Z");
  EXPECT_EQ(d.delete_backup, "");
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_EQ(*d.requeue_after, hours(1));  // the next slot: f2 expires centuries later
  f.backups.clear();
  f.LastBackupCompleted("s-2261-01-01t00-00-00", "2261-01-01T00:00:00Z", "2261-01-01T00:00:01Z");
  f.DecideWaiting("1700-01-01T00:00:00Z", "clock-backwards");
}

TEST(ScheduleDecideTest, SkipGcBackupsAreExemptFromMaxReservedTime) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["maxReservedTime"] = "1m";
  f.backups = {Backup("keep", "2024-05-17T01:00:00Z", St::kFailed, /*skip_gc=*/true),
               Backup("c3", "2024-05-17T03:00:00Z", St::kComplete)};
  EXPECT_EQ(f.Decide("2024-05-17T10:10:00Z").delete_backup, "");
}

TEST(ScheduleDecideTest, InvalidInputSetsConditionAndEventAndCreatesNothing) {
  struct Case {
    const char* what;
    std::function<void(Fixture&)> mutate;
    const char* message_part;
  };
  const Case cases[] = {
      {"bad cron", [](Fixture& f) { f.schedule["spec"]["schedule"] = "0 0 * * 7"; },
       "end of range (7) above maximum (6): 7"},
      {"missing cron", [](Fixture& f) { f.schedule["spec"].erase("schedule"); },
       "spec.schedule is required"},
      {"zone prefix without space", [](Fixture& f) { f.schedule["spec"]["schedule"] = "TZ=UTC"; },
       "time zone prefix"},
      {"bad maxReservedTime", [](Fixture& f) { f.schedule["spec"]["maxReservedTime"] = "7d"; },
       "spec.maxReservedTime: time: unknown unit \"d\""},
      {"negative maxReservedTime",
       [](Fixture& f) { f.schedule["spec"]["maxReservedTime"] = "-1h"; }, "must be positive"},
      {"negative maxBackups", [](Fixture& f) { f.schedule["spec"]["maxBackups"] = -1; },
       "spec.maxBackups must be a non-negative integer"},
      {"no br", [](Fixture& f) { f.schedule["spec"]["backupTemplate"]["template"].erase("br"); },
       "spec.backupTemplate.template.br is required"},
      {"no s3", [](Fixture& f) { f.schedule["spec"]["backupTemplate"]["template"].erase("s3"); },
       "spec.backupTemplate.template.s3 is required"},
      {"no template", [](Fixture& f) { f.schedule["spec"].erase("backupTemplate"); },
       "spec.backupTemplate.template is required"},
      {"template validation",
       [](Fixture& f) { f.template_validation = InvalidArgument("cluster \"zz\" is unknown"); },
       "cluster \"zz\" is unknown"},
      // Issue 18, finding 7: robfig runs these every second.
      {"@every 0s", [](Fixture& f) { f.schedule["spec"]["schedule"] = "@every 0s"; },
       "@every needs a positive duration"},
      {"@every -1h", [](Fixture& f) { f.schedule["spec"]["schedule"] = "@every -1h"; },
       "@every needs a positive duration"},
  };
  for (const Case& c : cases) {
    Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
    c.mutate(f);
    ScheduleDecision d = f.Decide("2024-05-17T11:00:05Z");
    EXPECT_TRUE(d.create.empty()) << c.what;
    EXPECT_EQ(d.wait_reason, "invalid") << c.what;
    ASSERT_TRUE(d.status_changed) << c.what;
    const Json& cond = d.status[0]["conditions"][0];
    EXPECT_EQ(cond["type"], "Invalid") << c.what;
    EXPECT_EQ(cond["status"], "True") << c.what;
    EXPECT_NE(cond["message"].get<std::string>().find(c.message_part), std::string::npos)
        << c.what << ": " << cond["message"];
    ASSERT_EQ(d.events.size(), 1u) << c.what;
    EXPECT_EQ(d.events[0].type, "Warning");
    // The same state again: no new event, no status change.
    f.schedule["status"] = d.status[0];
    ScheduleDecision again = f.Decide("2024-05-17T11:00:06Z");
    EXPECT_TRUE(again.events.empty()) << c.what;
    EXPECT_FALSE(again.status_changed) << c.what;
  }
}

// Issue 18, finding 6: a 1.6 MB cron string must give a small condition and Event (the API
// server refuses a status that large, and the object would show no status at all).
TEST(ScheduleDecideTest, InvalidMessagesQuoteBoundedExcerpts) {
  Fixture f{Schedule("s", std::string(1600000, '*'))};
  f.schedule["spec"]["maxReservedTime"] = std::string(1600000, '9') + "d";
  f.schedule["spec"]["maxBackups"] = Json::array();
  for (int i = 0; i < 100000; ++i) f.schedule["spec"]["maxBackups"].push_back(i);
  ScheduleDecision d = f.Decide("2024-05-17T11:00:05Z");
  ASSERT_TRUE(d.status_changed);
  const std::string message = d.status[0]["conditions"][0]["message"].get<std::string>();
  EXPECT_LT(message.size(), 2000u) << message.size();
  EXPECT_NE(message.find("(1600000 bytes)"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.maxReservedTime"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.maxBackups"), std::string::npos) << message;
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].message, message);
}

TEST(ScheduleDecideTest, FixingTheSpecClearsInvalid) {
  Fixture f{Schedule("s", "bogus")};
  ScheduleDecision d = f.Decide("2024-05-17T11:00:05Z");
  f.schedule["status"] = d.status[0];
  f.schedule["spec"]["schedule"] = "TZ=UTC 0 * * * *";
  d = f.Decide("2024-05-17T11:00:06Z");
  EXPECT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.status[0]["conditions"][0]["status"], "False");
  EXPECT_TRUE(d.events.empty());
}

TEST(ScheduleDecideTest, BadMaxReservedTimeTurnsRetentionOff) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["maxReservedTime"] = "soon";
  f.schedule["spec"]["maxBackups"] = 1;
  f.backups = {Backup("c1", "2024-05-17T01:00:00Z", St::kComplete),
               Backup("c2", "2024-05-17T02:00:00Z", St::kComplete)};
  EXPECT_EQ(f.Decide("2024-05-17T10:10:00Z").delete_backup, "");
}

TEST(ScheduleDecideTest, AllBackupsGoneResetsTheLastBackup) {
  Fixture f{Schedule("s", "TZ=UTC 0 * * * *")};
  f.schedule["spec"]["pause"] = true;
  f.schedule["status"] = {{"lastBackup", "s-2024-05-01t00-00-00"},
                          {"lastBackupTime", "2024-05-01T00:00:00Z"}};
  ScheduleDecision d = f.Decide("2024-05-17T10:10:00Z");
  EXPECT_EQ(d.status[0]["lastBackup"], "");
  EXPECT_FALSE(d.status[0].contains("lastBackupTime"));
  EXPECT_EQ(d.status[0]["allBackupCleanTime"], "2024-05-17T10:10:00Z");
  // Unpaused later, it counts from allBackupCleanTime: no burst of old slots.
  f.schedule["status"] = d.status[0];
  f.schedule["spec"]["pause"] = false;
  d = f.Decide("2024-05-17T10:20:00Z");
  EXPECT_TRUE(d.create.empty());
  EXPECT_EQ(*d.requeue_after, minutes(40));
  // Not while our own create is still in flight.
  f.schedule["status"] = {{"lastBackup", "s-x"}, {"lastBackupTime", "2024-05-17T10:00:00Z"}};
  f.claim_holder = "s";
  EXPECT_EQ(f.Decide("2024-05-17T10:20:00Z").status[0]["lastBackup"], "s-x");
}

TEST(ScheduleDecideTest, EveryScheduleCountsFromTheLastSlot) {
  Fixture f{Schedule("s", "@every 3s", "2024-05-17T10:00:00Z")};
  ScheduleDecision d = f.Decide("2024-05-17T10:00:03Z");
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.create[0]["metadata"]["name"], "s-2024-05-17t10-00-03");
  EXPECT_EQ(*d.requeue_after, seconds(3));
  f.schedule["status"] = d.status[0];
  f.backups.push_back(Backup("s-2024-05-17t10-00-03", "2024-05-17T10:00:03Z", St::kComplete));
  d = f.Decide("2024-05-17T10:00:04.5Z");
  EXPECT_TRUE(d.create.empty());
  EXPECT_EQ(*d.requeue_after, std::chrono::milliseconds(1500));
}

// Found by fuzz/schedule_decide (issue 18): Json::value threw on a `spec` that is not an object.
TEST(ScheduleDecideHelpersTest, BuildingFromAMalformedSpecDoesNotThrow) {
  for (const char* spec : {R"("VolumeBackupSchedule")", "[]", "7", R"({"backupTemplate": "x"})",
                           R"({"backupTemplate": {"template": "x"}})"}) {
    Json schedule = {{"metadata", {{"name", "s"}, {"namespace", "ns"}}},
                     {"spec", Json::parse(spec)}};
    Json built;
    ASSERT_NO_THROW(built = BuildScheduledVolumeBackup(schedule, T("2024-03-05T01:00:00Z")))
        << spec;
    EXPECT_EQ(built["metadata"]["name"], "s-2024-03-05t01-00-00");
  }
}

TEST(ScheduleDecideHelpersTest, NamesPrefixesAndStates) {
  EXPECT_EQ(ScheduledBackupName("daily", T("2024-03-05T01:00:00Z")), "daily-2024-03-05t01-00-00");
  EXPECT_EQ(ScheduledBackupName("d", T("2024-03-05T01:02:03.9Z")), "d-2024-03-05t01-02-03");
  EXPECT_EQ(JoinS3Prefix("p", "-ts"), "p/-ts");
  EXPECT_EQ(JoinS3Prefix("", "-ts"), "-ts");
  EXPECT_EQ(JoinS3Prefix("a/b/", "-ts"), "a/b/-ts");
  EXPECT_EQ(JoinS3Prefix("/a//b/./c/..", "-ts"), "/a/b/-ts");
  EXPECT_EQ(JoinS3Prefix(".", "-ts"), "-ts");
  EXPECT_EQ(JoinS3Prefix("../x", "-ts"), "../x/-ts");
  EXPECT_EQ(JoinS3Prefix("/..", "-ts"), "/-ts");
  EXPECT_EQ(StateOfBackup(Json::object()), BackupState::kRunning);
  EXPECT_EQ(StateOfBackup(Backup("x", "2024-01-01T00:00:00Z", St::kComplete)),
            BackupState::kComplete);
  EXPECT_EQ(StateOfBackup(Json{{"status", {{"phase", "Invalid"}}}}), BackupState::kFailed);
  EXPECT_EQ(StateOfBackup(Json{{"status",
                                {{"phase", "Cleaned"},
                                 {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}}}}),
            BackupState::kComplete);
  EXPECT_EQ(StateOfBackup(Json{{"status",
                                {{"phase", "CleanFailed"},
                                 {"conditions", {{{"type", "Failed"}, {"status", "True"}}}}}}}),
            BackupState::kFailed);
}

TEST(ScheduleDecideHelpersTest, ComputeSlots) {
  Result<CronSchedule> cron = CronSchedule::Parse("TZ=UTC 0 * * * *");
  ASSERT_TRUE(cron.ok());
  ScheduleSlots s = ComputeSlots(*cron, T("2024-05-17T10:00:00Z"), T("2024-05-17T12:30:00Z"));
  EXPECT_EQ(s.due, T("2024-05-17T12:00:00Z"));
  EXPECT_EQ(s.next, T("2024-05-17T13:00:00Z"));
  s = ComputeSlots(*cron, T("2024-05-17T10:00:00Z"), T("2024-05-17T10:59:59Z"));
  EXPECT_FALSE(s.due.has_value());
  s = ComputeSlots(*cron, T("2024-05-17T10:00:00Z"), T("2024-05-17T11:00:00Z"));
  EXPECT_EQ(s.due, T("2024-05-17T11:00:00Z"));  // a slot exactly at now is due
  Result<CronSchedule> never = CronSchedule::Parse("TZ=UTC 0 0 30 2 *");
  ASSERT_TRUE(never.ok());
  s = ComputeSlots(*never, T("2024-05-17T10:00:00Z"), T("2024-05-17T11:00:00Z"));
  EXPECT_FALSE(s.due.has_value());
  EXPECT_FALSE(s.next.has_value());
}

}  // namespace
}  // namespace brfed::federation
