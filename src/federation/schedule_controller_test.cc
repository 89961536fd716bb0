#include "federation/schedule_controller.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

namespace brfed::federation {
namespace {

using std::chrono::seconds;

Time T(const char* rfc3339) { return ParseRfc3339(rfc3339).value_or(Time()); }

// An API server (objects by "ns/name") and a cache that only catches up on Sync(), so tests
// can reproduce the lag between our writes and what the informers show.
class FakeWorld : public ScheduleWriter, public ScheduleMetrics {
 public:
  std::map<std::string, Json> schedules, backups;  // the server
  std::map<std::string, Json> cached_schedules, cached_backups;
  std::vector<std::string> events;  // "reason: message"
  std::vector<std::string> created, deleted;
  int status_patches = 0;
  int live_reads = 0;
  int last_rv = 100;  // the server's counter: schedules are written at "1"
  Status fail_create;
  std::function<void()> after_create;  // runs once, right after the next successful create
  int metric_created = 0, metric_deleted = 0;
  std::optional<Time> metric_last_success;

  void Sync() {
    cached_schedules = schedules;
    cached_backups = backups;
  }
  std::vector<runtime::ObjectPtr> List(const std::map<std::string, Json>& m, std::string_view ns) {
    std::vector<runtime::ObjectPtr> out;
    for (const auto& [k, v] : m) {
      if (k.rfind(std::string(ns) + "/", 0) == 0) out.push_back(std::make_shared<Json>(v));
    }
    return out;
  }

  Result<std::string> CreateVolumeBackup(const Json& vb) override {
    if (!fail_create.ok()) return fail_create;
    std::string key = vb["metadata"]["namespace"].get<std::string>() + "/" +
                      vb["metadata"]["name"].get<std::string>();
    if (backups.count(key)) return Status(Code::kAlreadyExists, "exists");
    Json stored = vb;
    stored["metadata"]["creationTimestamp"] = FormatRfc3339(now);
    const std::string rv = std::to_string(++last_rv);
    stored["metadata"]["resourceVersion"] = rv;
    stored["status"] = {{"phase", "Running"}};
    backups[key] = stored;
    created.push_back(vb["metadata"]["name"]);
    if (after_create) std::exchange(after_create, nullptr)();
    return rv;
  }
  Status DeleteVolumeBackup(std::string_view ns, std::string_view name) override {
    std::string key = std::string(ns) + "/" + std::string(name);
    if (!backups.erase(key)) return Status(Code::kNotFound, "gone");
    deleted.push_back(std::string(name));
    return Status::Ok();
  }
  Status PatchScheduleStatus(std::string_view ns, std::string_view name,
                             const Json& patch) override {
    Json p = patch;
    p.erase("metadata");
    Json& s = schedules[std::string(ns) + "/" + std::string(name)];
    s = ApplyMergePatch(s, p);
    ++status_patches;
    return Status::Ok();
  }
  Result<Json> ReadScheduleLive(std::string_view ns, std::string_view name) override {
    ++live_reads;
    auto it = schedules.find(std::string(ns) + "/" + std::string(name));
    if (it == schedules.end()) return Status(Code::kNotFound, "gone");
    return it->second;
  }
  void Record(const Json&, std::string_view, std::string_view reason, std::string_view message) {
    events.push_back(std::string(reason) + ": " + std::string(message));
  }
  void BackupCreated(std::string_view, std::string_view) override { ++metric_created; }
  void RetentionDeleted(std::string_view, std::string_view) override { ++metric_deleted; }
  void LastSuccessfulBackup(std::string_view, std::string_view, Time t) override {
    metric_last_success = t;
  }

  void Complete(const std::string& key) {
    backups[key]["status"] = {{"phase", "Complete"},
                              {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}};
  }

  Time now;
};

Json Schedule(const std::string& name, const std::string& cron, const std::string& group = "") {
  Json s = {
      {"metadata",
       {{"name", name},
        {"namespace", "ns"},
        {"creationTimestamp", "2024-05-17T10:00:00Z"},
        {"resourceVersion", "1"}}},
      {"spec",
       {{"schedule", cron},
        {"backupTemplate",
         {{"clusters", {{{"k8sClusterName", "a"}, {"tcName", "tc"}, {"tcNamespace", "tidb"}}}},
          {"template", {{"br", Json::object()}, {"s3", {{"bucket", "b"}, {"prefix", "p"}}}}}}}}}};
  if (!group.empty()) s["metadata"]["labels"]["tidb.pingcap.com/backup-schedule-group"] = group;
  return s;
}

struct Harness {
  FakeWorld world;
  FakeClock clock{T("2024-05-17T10:00:00Z")};
  std::unique_ptr<ScheduleController> controller;
  // Runs once, right after the next backup list was taken (to interleave another reconcile).
  std::function<void()> after_list_backups;

  explicit Harness(std::vector<std::string> known = {"a"}) {
    ScheduleControllerDeps deps;
    deps.list_schedules = [this](std::string_view ns) {
      return world.List(world.cached_schedules, ns);
    };
    deps.list_volume_backups = [this](std::string_view ns) {
      std::vector<runtime::ObjectPtr> out = world.List(world.cached_backups, ns);
      if (auto hook = std::exchange(after_list_backups, nullptr)) hook();
      return out;
    };
    deps.validate_volume_backup = VolumeBackupValidator([known] { return known; });
    deps.writer = &world;
    deps.events = [this](const Json& o, std::string_view t, std::string_view r,
                         std::string_view m) { world.Record(o, t, r, m); };
    deps.metrics = &world;
    deps.clock = &clock;
    controller = std::make_unique<ScheduleController>(std::move(deps));
  }
  void At(const char* t) {
    clock.SetNow(T(t));
    world.now = T(t);
  }
  Result<std::optional<std::chrono::nanoseconds>> Reconcile(const std::string& key) {
    return controller->Reconcile(key);
  }
  // Schedules a and b in one group "g", on the server and in the cache.
  void GroupOfAAndB(const std::string& a_cron, const std::string& b_cron) {
    world.schedules["ns/a"] = Schedule("a", a_cron, "g");
    world.schedules["ns/b"] = Schedule("b", b_cron, "g");
    world.Sync();
  }
  // a's backup (the first created) completes and the cache shows it: b's next reconcile
  // creates `b_backup`, the group's second backup.
  void CompleteFirstBackupThenExpectBCreates(const std::string& b_backup) {
    world.Complete("ns/" + world.created[0]);
    world.Sync();
    ASSERT_TRUE(Reconcile("ns/b").ok());
    ASSERT_EQ(world.created.size(), 2u);
    EXPECT_EQ(world.created[1], b_backup);
  }
};

TEST(ScheduleControllerTest, CreatesOnTimeOneAtATime) {
  Harness h;
  h.world.schedules["ns/s"] = Schedule("s", "@every 3s");
  h.world.Sync();
  h.At("2024-05-17T10:00:01Z");
  auto r = h.Reconcile("ns/s");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(h.world.created.empty());
  EXPECT_EQ(**r, seconds(2));  // requeue exactly at the first slot

  h.At("2024-05-17T10:00:03Z");
  r = h.Reconcile("ns/s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.world.created, std::vector<std::string>{"s-2024-05-17t10-00-03"});
  EXPECT_EQ(h.world.schedules["ns/s"]["status"]["lastBackup"], "s-2024-05-17t10-00-03");
  EXPECT_EQ(h.world.metric_created, 1);
  EXPECT_EQ(**r, seconds(3));

  // Next slot, but the cache has not caught up (neither status nor backup): the claim holds.
  h.At("2024-05-17T10:00:06Z");
  r = h.Reconcile("ns/s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.world.created.size(), 1u);

  // Cache caught up; the backup is still running: wait.
  h.world.Sync();
  r = h.Reconcile("ns/s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.world.created.size(), 1u);

  // It completes: the newest due slot runs.
  h.world.Complete("ns/s-2024-05-17t10-00-03");
  h.world.Sync();
  h.At("2024-05-17T10:00:10Z");
  r = h.Reconcile("ns/s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.world.created.back(), "s-2024-05-17t10-00-09");
  EXPECT_EQ(h.world.events.back(),
            "SuccessfulCreate: create VolumeBackup s-2024-05-17t10-00-09 for schedule s");
}

// The cache can lag a pause or a deletion (chaos seed 8506: a deleted schedule created one
// more backup, which nobody deleted): before a create, the schedule is read live, and a schedule
// paused, being deleted, gone or replaced (another uid) there creates nothing.
TEST(ScheduleControllerTest, ACreateWaitsForTheScheduleReadLive) {
  struct Case {
    const char* what;
    std::function<void(std::map<std::string, Json>&)> on_server;
    bool creates;
  };
  const Case cases[] = {
      {"unchanged", [](auto&) {}, true},
      {"paused", [](auto& m) { m["ns/s"]["spec"]["pause"] = true; }, false},
      {"being deleted",
       [](auto& m) { m["ns/s"]["metadata"]["deletionTimestamp"] = "2024-05-17T10:00:02Z"; }, false},
      {"gone", [](auto& m) { m.erase("ns/s"); }, false},
      {"replaced", [](auto& m) { m["ns/s"]["metadata"]["uid"] = "another"; }, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Harness h;
    h.world.schedules["ns/s"] = Schedule("s", "@every 3s");
    h.world.schedules["ns/s"]["metadata"]["uid"] = "u-s";
    h.world.Sync();
    c.on_server(h.world.schedules);  // the cache does not show it yet
    h.At("2024-05-17T10:00:03Z");
    auto r = h.Reconcile("ns/s");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(h.world.created.size(), c.creates ? 1u : 0u);
    EXPECT_EQ(h.world.live_reads, c.creates ? 2 : 1) << "a create is checked again after";
  }
}

// A read before the create can itself be answered from before a pause or a deletion (chaos
// seed 30043): the schedule reads itself again once the create is answered and deletes the
// backup it made if the schedule was paused before it (a lower resourceVersion than the new
// backup's), gone or replaced; its claim is released, so a group peer is not held up waiting
// for the cache to show a backup that is gone. A pause after the create keeps the backup.
TEST(ScheduleControllerTest, ACreateThatRacedAPauseOrADeletionIsUndone) {
  struct Case {
    const char* what;
    std::function<void(std::map<std::string, Json>&)> on_server;
    bool kept;
  };
  const Case cases[] = {
      {"unchanged", [](auto&) {}, true},
      {"paused before the create", [](auto& m) { m["ns/a"]["spec"]["pause"] = true; }, false},
      {"paused after the create",
       [](auto& m) {
         m["ns/a"]["spec"]["pause"] = true;
         m["ns/a"]["metadata"]["resourceVersion"] = "102";
       },
       true},
      {"paused at a version that is not a number",
       [](auto& m) {
         m["ns/a"]["spec"]["pause"] = true;
         m["ns/a"]["metadata"]["resourceVersion"] = "x";
       },
       true},
      {"gone", [](auto& m) { m.erase("ns/a"); }, false},
      {"replaced", [](auto& m) { m["ns/a"]["metadata"]["uid"] = "another"; }, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Harness h;
    h.GroupOfAAndB("@every 3s", "@every 4s");
    h.world.after_create = [&] { c.on_server(h.world.schedules); };
    h.At("2024-05-17T10:00:03Z");
    auto r = h.Reconcile("ns/a");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(h.world.created.size(), 1u);
    EXPECT_EQ(h.world.backups.size(), c.kept ? 1u : 0u);
    EXPECT_EQ(h.world.deleted.size(), c.kept ? 0u : 1u);
    // b is due at :04; it creates only when a's claim is gone (kept: the cache shows a's
    // running backup, and the group runs one at a time).
    h.world.Sync();
    h.At("2024-05-17T10:00:04Z");
    ASSERT_TRUE(h.Reconcile("ns/b").ok());
    EXPECT_EQ(h.world.created.size(), c.kept ? 1u : 2u);
  }
}

TEST(ScheduleControllerTest, GroupMembersNeverBothCreateEvenWithAStaleCache) {
  Harness h;
  // Different slots, so the decision alone cannot serialise them: a is due at :03, b at :04.
  h.GroupOfAAndB("@every 3s", "@every 4s");
  h.At("2024-05-17T10:00:03Z");
  ASSERT_TRUE(h.Reconcile("ns/a").ok());
  EXPECT_EQ(h.world.created.size(), 1u);
  h.At("2024-05-17T10:00:04Z");
  ASSERT_TRUE(h.Reconcile("ns/b").ok());  // cache does not show a's backup yet
  EXPECT_EQ(h.world.created.size(), 1u);
  h.world.Sync();
  ASSERT_TRUE(h.Reconcile("ns/b").ok());  // now it does: a's backup is running
  EXPECT_EQ(h.world.created.size(), 1u);
  h.CompleteFirstBackupThenExpectBCreates("b-2024-05-17t10-00-04");
}

TEST(ScheduleControllerTest, AClaimReleasedWhileAPeerObservesStopsThePeersCreate) {
  // A race seen end to end: b lists the backups before a's new one reaches the cache; then
  // a's next reconcile sees it and releases the group claim; then b decides on its stale
  // list, where a already looks done because a's status reached the schedule cache first.
  Harness h;
  h.GroupOfAAndB("@every 3s", "@every 3s");
  h.At("2024-05-17T10:00:03Z");
  ASSERT_TRUE(h.Reconcile("ns/a").ok());  // a goes first (same slot, smaller name)
  ASSERT_EQ(h.world.created.size(), 1u);
  h.world.cached_schedules = h.world.schedules;  // a's status is in the schedule cache
  h.after_list_backups = [&h] {
    h.world.cached_backups = h.world.backups;  // a's backup reaches the cache...
    ASSERT_TRUE(h.Reconcile("ns/a").ok());     // ...and a's reconcile releases the claim
  };
  ASSERT_TRUE(h.Reconcile("ns/b").ok());
  EXPECT_EQ(h.world.created.size(), 1u) << "b created while a's backup runs";
  ASSERT_TRUE(h.Reconcile("ns/b").ok());  // a fresh look shows a's backup running
  EXPECT_EQ(h.world.created.size(), 1u);
  h.CompleteFirstBackupThenExpectBCreates("b-2024-05-17t10-00-03");
}

TEST(ScheduleControllerTest, RetentionWaitsForTheCacheToShowADelete) {
  Harness h;
  Json s = Schedule("s", "TZ=UTC 0 0 1 1 *");
  s["spec"]["maxBackups"] = 1;
  h.world.schedules["ns/s"] = s;
  for (const char* n : {"s-1", "s-2", "s-3"}) {
    Json b = {
        {"metadata",
         {{"name", n},
          {"namespace", "ns"},
          {"creationTimestamp", std::string("2024-05-17T0") + n[2] + ":00:00Z"},
          {"labels", {{"tidb.pingcap.com/backup-schedule", "s"}}}}},
        {"status",
         {{"phase", "Complete"}, {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}}}};
    h.world.backups[std::string("ns/") + n] = b;
  }
  h.world.Sync();
  h.At("2024-05-17T10:00:00Z");
  ASSERT_TRUE(h.Reconcile("ns/s").ok());
  EXPECT_EQ(h.world.deleted, std::vector<std::string>{"s-1"});
  ASSERT_TRUE(h.Reconcile("ns/s").ok());  // cache still shows s-1 as present
  EXPECT_EQ(h.world.deleted.size(), 1u);
  h.world.Sync();
  ASSERT_TRUE(h.Reconcile("ns/s").ok());
  EXPECT_EQ(h.world.deleted, (std::vector<std::string>{"s-1", "s-2"}));
  h.world.Sync();
  ASSERT_TRUE(h.Reconcile("ns/s").ok());
  EXPECT_EQ(h.world.deleted.size(), 2u);  // s-3 is the newest Complete: kept
  EXPECT_EQ(h.world.metric_deleted, 2);
  EXPECT_EQ(h.world.events.back(),
            "SuccessfulDelete: delete VolumeBackup s-2 (more than "
            "maxBackups 1 (2 counted))");
}

TEST(ScheduleControllerTest, DeletedScheduleLeavesItsBackups) {
  Harness h;
  h.world.backups["ns/s-1"] = {{"metadata",
                                {{"name", "s-1"},
                                 {"namespace", "ns"},
                                 {"labels", {{"tidb.pingcap.com/backup-schedule", "s"}}}}}};
  h.world.Sync();
  auto r = h.Reconcile("ns/s");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(h.world.deleted.empty());
  EXPECT_EQ(h.world.backups.size(), 1u);
}

TEST(ScheduleControllerTest, FailedCreateIsReportedAndRetriedWithoutTakingTheSlot) {
  Harness h;
  h.world.schedules["ns/s"] = Schedule("s", "@every 3s");
  h.world.Sync();
  h.world.fail_create = Status(Code::kUnavailable, "connection refused");
  h.At("2024-05-17T10:00:03Z");
  auto r = h.Reconcile("ns/s");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(h.world.status_patches, 0);
  EXPECT_NE(h.world.events.back().find("FailedCreate"), std::string::npos);
  h.world.fail_create = Status::Ok();
  ASSERT_TRUE(h.Reconcile("ns/s").ok());  // the claim was released
  EXPECT_EQ(h.world.created.size(), 1u);
}

TEST(ScheduleControllerTest, UnknownClusterInTheTemplateIsInvalid) {
  Harness h({"other"});
  h.world.schedules["ns/s"] = Schedule("s", "@every 3s");
  h.world.Sync();
  h.At("2024-05-17T10:00:03Z");
  ASSERT_TRUE(h.Reconcile("ns/s").ok());
  EXPECT_TRUE(h.world.created.empty());
  const Json& cond = h.world.schedules["ns/s"]["status"]["conditions"][0];
  EXPECT_EQ(cond["type"], "Invalid");
  EXPECT_NE(cond["message"].get<std::string>().find("not a context"), std::string::npos)
      << cond["message"];
  ASSERT_FALSE(h.world.events.empty());
  EXPECT_EQ(h.world.events[0].rfind("Invalid: ", 0), 0u);
}

TEST(ScheduleControllerTest, LongScheduleNamesAreInvalidBecauseBackupNamesWouldBe) {
  Harness h;
  std::string name(30, 'x');
  h.world.schedules["ns/" + name] = Schedule(name, "@every 3s");
  h.world.Sync();
  h.At("2024-05-17T10:00:03Z");
  ASSERT_TRUE(h.Reconcile("ns/" + name).ok());
  EXPECT_TRUE(h.world.created.empty());
  EXPECT_EQ(h.world.schedules["ns/" + name]["status"]["conditions"][0]["status"], "True");
}

TEST(ScheduleControllerTest, KeysForEvents) {
  Harness h;
  h.world.schedules["ns/a"] = Schedule("a", "@every 3s", "g");
  h.world.schedules["ns/b"] = Schedule("b", "@every 3s", "g");
  h.world.schedules["ns/c"] = Schedule("c", "@every 3s");
  h.world.Sync();
  Json vb = {{"metadata",
              {{"name", "a-1"},
               {"namespace", "ns"},
               {"labels",
                {{"tidb.pingcap.com/backup-schedule", "a"},
                 {"tidb.pingcap.com/backup-schedule-group", "g"}}}}}};
  EXPECT_EQ(h.controller->KeysForVolumeBackup(vb), (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_EQ(h.controller->KeysForSchedule(h.world.schedules["ns/b"]),
            (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_EQ(h.controller->KeysForSchedule(h.world.schedules["ns/c"]),
            std::vector<std::string>{"ns/c"});
  EXPECT_TRUE(h.controller->KeysForVolumeBackup(Json{{"metadata", {{"name", "x"}}}}).empty());
  EXPECT_FALSE(h.Reconcile("no-slash").ok());
}

}  // namespace
}  // namespace brfed::federation
