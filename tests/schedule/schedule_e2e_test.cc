// End to end: VolumeBackupSchedules run by br-federation-manager as a process, with a
// control-plane brfed-apiserver, two data-plane brfed-apiservers and tidb-operator-sim
// (testing::FederationEnv). A watch on the control plane's VolumeBackups follows every change, so
// "one backup at a time" is checked at each write the API server accepted, not at polls.
// Tests run in declaration order and share the processes; the simulator's audit log is
// checked last.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/time.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/kube_clients.h"
#include "tests/harness/objects.h"

namespace brfed {
namespace {

using testing::FederationEnv;
using testing::KubeClientFor;
using testing::ManagerProcess;
using testing::TrueCondition;
using testing::WaitFor;
using namespace std::chrono_literals;

constexpr char kScheduleLabel[] = "tidb.pingcap.com/backup-schedule";
constexpr char kGroupLabel[] = "tidb.pingcap.com/backup-schedule-group";

// Follows the namespace's VolumeBackups through a watch and records, per schedule and per
// schedule group, how many were unfinished at once. Thread-safe.

class BackupTracker {
 public:
  struct Backup {
    std::string schedule, group;
    std::string creation;  // metadata.creationTimestamp
    bool complete = false;
    bool ended = false;     // Complete, Failed or Invalid, being deleted, or gone
    bool deleting = false;  // deletionTimestamp set or gone
    bool gone = false;
  };

  BackupTracker(std::shared_ptr<kube::Client> client, std::string ns)
      : client_(std::move(client)), ns_(std::move(ns)), thread_([this] { Run(); }) {}
  ~BackupTracker() {
    stop_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stream_) stream_->Cancel();
    }
    thread_.join();
  }

  std::map<std::string, Backup> Backups() const {
    std::lock_guard<std::mutex> lock(mu_);
    return backups_;
  }
  // Names of backups of `schedule` the tracker has seen, in name (= slot) order.
  std::vector<std::string> Created(const std::string& schedule) const {
    std::vector<std::string> out;
    for (const auto& [name, b] : Backups()) {
      if (b.schedule == schedule) out.push_back(name);
    }
    return out;
  }
  // Backups of `schedule` neither gone nor being deleted.
  int LiveCount(const std::string& schedule) const {
    int n = 0;
    for (const auto& [name, b] : Backups()) n += b.schedule == schedule && !b.deleting;
    return n;
  }
  int CompleteCount(const std::string& schedule) const {
    int n = 0;
    for (const auto& [name, b] : Backups()) n += b.schedule == schedule && b.complete;
    return n;
  }
  // Largest number of unfinished backups seen at once for `key` ("schedule:<name>" or
  // "group:<name>").
  int MaxRunning(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = max_running_.find(key);
    return it == max_running_.end() ? 0 : it->second;
  }
  std::vector<std::string> Overlaps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return overlaps_;
  }

 private:
  void Run() {
    std::string resource_version;
    while (!stop_) {
      kube::WatchOptions options;
      options.resource_version = resource_version;
      options.idle_timeout = 30s;
      auto stream = client_->Watch(kube::resources::VolumeBackup(), ns_, options);
      if (!stream.ok()) {
        std::this_thread::sleep_for(100ms);  // retry pacing, not synchronisation
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        stream_ = std::move(*stream);
        if (stop_) return;
      }
      while (!stop_) {
        auto event = stream_->Next();
        if (!event.ok() || !event->has_value()) break;
        const kube::WatchEvent& e = **event;
        if (e.type == kube::WatchEvent::Type::kError) {
          resource_version.clear();
          break;
        }
        resource_version = JsonStringAt(*e.object, {"metadata", "resourceVersion"});
        if (e.type != kube::WatchEvent::Type::kBookmark) Apply(e);
      }
      std::lock_guard<std::mutex> lock(mu_);
      stream_.reset();
    }
  }

  void Apply(const kube::WatchEvent& e) {
    const Json& o = *e.object;
    const std::string name = JsonStringAt(o, {"metadata", "name"});
    std::lock_guard<std::mutex> lock(mu_);
    Backup& b = backups_[name];
    b.schedule = JsonStringAt(o, {"metadata", "labels", kScheduleLabel});
    b.group = JsonStringAt(o, {"metadata", "labels", kGroupLabel});
    b.creation = JsonStringAt(o, {"metadata", "creationTimestamp"});
    b.complete = b.complete || TrueCondition(o, "Complete") != nullptr;
    b.gone = e.type == kube::WatchEvent::Type::kDeleted;
    b.deleting = b.gone || JsonAt(o, {"metadata", "deletionTimestamp"}) != nullptr;
    b.ended = b.ended || b.gone || b.complete || TrueCondition(o, "Failed") != nullptr ||
              TrueCondition(o, "Invalid") != nullptr || b.deleting;
    std::map<std::string, std::vector<std::string>> running;
    for (const auto& [n, x] : backups_) {
      if (x.ended || x.schedule.empty()) continue;
      running["schedule:" + x.schedule].push_back(n);
      if (!x.group.empty()) running["group:" + x.group].push_back(n);
    }
    for (const auto& [key, names] : running) {
      int& max = max_running_[key];
      max = std::max<int>(max, static_cast<int>(names.size()));
      if (names.size() > 1) {
        std::string text = key + ":";
        for (const auto& n : names) text += " " + n;
        overlaps_.push_back(text);
      }
    }
  }

  std::shared_ptr<kube::Client> client_;
  const std::string ns_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::unique_ptr<kube::WatchStream> stream_;
  std::map<std::string, Backup> backups_;
  std::map<std::string, int> max_running_;
  std::vector<std::string> overlaps_;
  std::thread thread_;  // last: starts after the members above exist
};

class ScheduleE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::FederationEnvOptions options;
    options.data_planes = {"c1", "c2"};
    // A backup takes about a second: long enough to overlap a 3 s slot of a peer.
    options.sim_args = {"--speed",     "10",  "--tikv-per-cluster", "1", "--volumes-per-store", "1",
                        "--log-level", "warn"};
    auto env = FederationEnv::Start(options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    sandbox_ = std::move(*env);
    auto client = KubeClientFor(sandbox_->control_plane().kubeconfig);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    cp_client_ = *client;
    tracker_ = std::make_unique<BackupTracker>(cp_client_, sandbox_->ns());
    auto manager = sandbox_->StartManager("manager");
    ASSERT_TRUE(manager.ok()) << manager.status().ToString();
    manager_ = std::move(*manager);
  }
  static void TearDownTestSuite() {
    manager_.reset();
    tracker_.reset();
    cp_client_.reset();
    sandbox_.reset();
  }

  static kube::Client& Cp() { return *cp_client_; }
  static const std::string& Ns() { return sandbox_->ns(); }
  static std::string ManagerLog() { return testing::ReadFile(manager_->log); }

  static Json Schedule(const std::string& name, const std::string& cron, int max_backups) {
    Json s = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
              {"kind", "VolumeBackupSchedule"},
              {"metadata", {{"name", name}, {"namespace", Ns()}}},
              {"spec",
               {{"schedule", cron},
                {"maxBackups", max_backups},
                {"backupTemplate", testing::VolumeBackupSpec(name, {"c1", "c2"})}}}};
    return s;
  }
  static Status Create(const Json& schedule) {
    return Cp().Create(kube::resources::VolumeBackupSchedule(), Ns(), schedule).status();
  }
  static Status PatchSpec(const std::string& name, const Json& spec) {
    return Cp()
        .Patch(kube::resources::VolumeBackupSchedule(), Ns(), name, kube::PatchType::kMerge,
               Json{{"spec", spec}})
        .status();
  }
  static Json GetSchedule(const std::string& name) {
    auto r = Cp().Get(kube::resources::VolumeBackupSchedule(), Ns(), name);
    return r.ok() ? *r : Json();
  }
  static Status DeleteSchedule(const std::string& name) {
    return Cp().Delete(kube::resources::VolumeBackupSchedule(), Ns(), name);
  }
  // The schedule's VolumeBackups in the API server that are not being deleted.
  static std::vector<Json> LiveBackups(const std::string& schedule) {
    kube::ListOptions lo;
    lo.label_selector = std::string(kScheduleLabel) + "=" + schedule;
    auto list = Cp().List(kube::resources::VolumeBackup(), Ns(), lo);
    std::vector<Json> out;
    if (!list.ok()) return out;
    for (const auto& item : (*list)["items"]) {
      if (JsonAt(item, {"metadata", "deletionTimestamp"}) == nullptr) out.push_back(item);
    }
    return out;
  }
  // Events recorded against the schedule `name`.
  static std::vector<Json> EventsOf(const std::string& name) {
    std::vector<Json> out;
    auto list = Cp().List(kube::resources::Event(), Ns());
    if (!list.ok()) return out;
    for (const auto& e : (*list)["items"]) {
      if (JsonStringAt(e, {"involvedObject", "kind"}) == "VolumeBackupSchedule" &&
          JsonStringAt(e, {"involvedObject", "name"}) == name) {
        out.push_back(e);
      }
    }
    return out;
  }
  static bool HasEvent(const std::string& name, const std::string& reason) {
    for (const Json& e : EventsOf(name)) {
      if (JsonStringAt(e, {"reason"}) == reason) return true;
    }
    return false;
  }
  // Lets the manager demonstrably work through a few slots: a helper schedule `name` creates
  // `count` backups, then it is deleted (its backups stay).
  static void RunTicks(const std::string& name, int count) {
    ASSERT_TRUE(Create(Schedule(name, "@every 1s", 0)).ok());
    EXPECT_TRUE(
        WaitFor([&] { return static_cast<int>(tracker_->Created(name).size()) >= count; }, 60s))
        << ManagerLog();
    ASSERT_TRUE(DeleteSchedule(name).ok());
  }

  // Slot time encoded in a generated name "<schedule>-2006-01-02t15-04-05".
  static Time SlotOf(const std::string& schedule, const std::string& backup) {
    std::string ts = backup.substr(schedule.size() + 1);
    ts[10] = 'T';
    ts[13] = ':';
    ts[16] = ':';
    auto t = ParseRfc3339(ts + "Z");
    EXPECT_TRUE(t.ok()) << backup;
    return t.ok() ? *t : Time();
  }

  static inline std::unique_ptr<FederationEnv> sandbox_;
  static inline std::shared_ptr<kube::Client> cp_client_;
  static inline std::unique_ptr<BackupTracker> tracker_;
  static inline std::unique_ptr<ManagerProcess> manager_;
};

TEST_F(ScheduleE2e, EveryThreeSecondsRunsOnTimeOneAtATimeAndKeepsTwo) {
  ASSERT_TRUE(Create(Schedule("every3", "@every 3s", 2)).ok());
  // Pruned to two: at least four backups made, and at some moment exactly two left, both
  // Complete, after retention deleted the others.
  bool pruned = WaitFor(
      [] {
        if (tracker_->Created("every3").size() < 4) return false;
        std::vector<Json> live = LiveBackups("every3");
        return live.size() == 2 && TrueCondition(live[0], "Complete") != nullptr &&
               TrueCondition(live[1], "Complete") != nullptr;
      },
      60s);
  ASSERT_TRUE(pruned) << DumpJson(GetSchedule("every3")) << ManagerLog();

  EXPECT_EQ(tracker_->MaxRunning("schedule:every3"), 1);
  for (const auto& overlap : tracker_->Overlaps()) ADD_FAILURE() << "overlap " << overlap;
  const auto backups = tracker_->Backups();
  const std::vector<std::string> created = tracker_->Created("every3");
  std::optional<Time> previous;
  for (const std::string& name : created) {
    const Time slot = SlotOf("every3", name);
    if (previous) {
      const auto gap = std::chrono::duration_cast<std::chrono::seconds>(slot - *previous);
      EXPECT_EQ(gap.count() % 3, 0) << name << ": slots are 3 s apart";
      EXPECT_GT(gap.count(), 0) << name;
    }
    previous = slot;
    // On time: created at its slot, before the next one is due (creationTimestamp has
    // whole seconds).
    auto creation = ParseRfc3339(backups.at(name).creation);
    ASSERT_TRUE(creation.ok()) << name;
    EXPECT_GE(*creation, slot) << name << " created before its slot";
    EXPECT_LE(*creation - slot, std::chrono::seconds(3)) << name << " created late";
  }
  // Every backup except the last two was deleted by retention.
  int gone = 0;
  for (const auto& [name, b] : tracker_->Backups()) gone += b.schedule == "every3" && b.gone;
  EXPECT_GE(gone, 2);

  Json schedule = GetSchedule("every3");
  EXPECT_EQ(schedule["spec"]["maxBackups"], 2);
  EXPECT_FALSE(JsonStringAt(schedule, {"status", "lastBackup"}).empty()) << DumpJson(schedule);
  EXPECT_FALSE(JsonStringAt(schedule, {"status", "lastBackupTime"}).empty());
  EXPECT_EQ(TrueCondition(schedule, "Invalid"), nullptr) << DumpJson(schedule);
  EXPECT_TRUE(WaitFor([] {
    return HasEvent("every3", "SuccessfulCreate") && HasEvent("every3", "SuccessfulDelete");
  })) << DumpJson(EventsOf("every3"));
}

TEST_F(ScheduleE2e, ScheduleMetricsAppearOnTheManager) {
  const std::string series = "{namespace=\"default\",schedule=\"every3\"}";
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = manager_->Metrics();
    return metrics.find("brfed_schedule_backups_created_total" + series) != std::string::npos &&
           metrics.find("brfed_schedule_retention_deletions_total" + series) != std::string::npos &&
           metrics.find("brfed_schedule_last_successful_backup_timestamp_seconds" + series) !=
               std::string::npos;
  })) << metrics;
  const auto at = metrics.find("brfed_schedule_backups_created_total" + series);
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::atof(metrics.c_str() + at +
                      std::string("brfed_schedule_backups_created_total").size() + series.size()),
            4.0)
      << metrics;
}

TEST_F(ScheduleE2e, PauseStopsNewBackupsWhileRetentionContinues) {
  ASSERT_TRUE(PatchSpec("every3", {{"pause", true}, {"maxBackups", 1}}).ok());
  // Retention still runs: down to one. (The tracker sees writes in order, so every backup
  // created before that deletion is counted by then.)
  ASSERT_TRUE(WaitFor([] { return tracker_->LiveCount("every3") == 1; }, 30s))
      << DumpJson(GetSchedule("every3")) << ManagerLog();
  // The manager saw the pause (the same write lowered maxBackups). Nothing may start from
  // now on, however many slots pass.
  const size_t created = tracker_->Created("every3").size();
  RunTicks("tick-pause", 3);
  EXPECT_EQ(tracker_->Created("every3").size(), created) << ManagerLog();
  EXPECT_EQ(LiveBackups("every3").size(), 1u);
}

TEST_F(ScheduleE2e, DeletingTheScheduleKeepsItsBackups) {
  std::vector<Json> before = LiveBackups("every3");
  ASSERT_FALSE(before.empty());
  for (const Json& b : before) {
    EXPECT_EQ(JsonAt(b, {"metadata", "ownerReferences"}), nullptr)
        << "no owner reference, so nothing cascades: " << DumpJson(b);
  }
  ASSERT_TRUE(DeleteSchedule("every3").ok());
  ASSERT_TRUE(WaitFor([] { return GetSchedule("every3").is_null(); }));
  RunTicks("tick-delete", 3);
  std::vector<Json> after = LiveBackups("every3");
  ASSERT_EQ(after.size(), before.size()) << ManagerLog();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(JsonStringAt(after[i], {"metadata", "name"}),
              JsonStringAt(before[i], {"metadata", "name"}));
    EXPECT_NE(TrueCondition(after[i], "Complete"), nullptr);
  }
}

// Also covers deleting the schedules while a backup runs: a deleted schedule's running backup
// still holds the group (regression: it did not, and the peer started a second backup).
TEST_F(ScheduleE2e, TwoSchedulesOfAGroupNeverRunAtOnce) {
  for (const char* name : {"grp-a", "grp-b"}) {
    Json s = Schedule(name, "@every 3s", 2);
    s["metadata"]["labels"] = {{kGroupLabel, "nightly"}};
    ASSERT_TRUE(Create(s).ok()) << name;
  }
  EXPECT_TRUE(WaitFor(
      [] { return tracker_->CompleteCount("grp-a") >= 2 && tracker_->CompleteCount("grp-b") >= 2; },
      60s))
      << ManagerLog();
  for (const char* name : {"grp-a", "grp-b"}) ASSERT_TRUE(DeleteSchedule(name).ok());
  EXPECT_EQ(tracker_->MaxRunning("group:nightly"), 1) << ManagerLog();
  for (const auto& overlap : tracker_->Overlaps()) ADD_FAILURE() << "overlap " << overlap;
}

TEST_F(ScheduleE2e, InvalidSchedulesGetAConditionAndAnEvent) {
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    std::string expected;  // part of the condition's message
  };
  const std::vector<Case> cases = {
      {"bad-cron", [](Json& s) { s["spec"]["schedule"] = "61 * * * *"; }, "61"},
      {"bad-every", [](Json& s) { s["spec"]["schedule"] = "@every 3 days"; }, "@every"},
      {"bad-reserved", [](Json& s) { s["spec"]["maxReservedTime"] = "3 days"; }, "maxReservedTime"},
      {"bad-no-br", [](Json& s) { s["spec"]["backupTemplate"]["template"].erase("br"); }, "br"},
      {"bad-no-s3", [](Json& s) { s["spec"]["backupTemplate"]["template"].erase("s3"); }, "s3"},
      {"bad-cluster",
       [](Json& s) { s["spec"]["backupTemplate"]["clusters"][1]["k8sClusterName"] = "c9"; }, "c9"},
      {"bad-name-far-too-long-for-it", [](Json&) {}, "characters"},
  };
  for (const auto& c : cases) {
    Json s = Schedule(c.name, "@every 1s", 2);
    c.mutate(s);
    ASSERT_TRUE(Create(s).ok()) << c.name;
  }
  for (const auto& c : cases) {
    Json schedule;
    EXPECT_TRUE(WaitFor([&] {
      schedule = GetSchedule(c.name);
      return TrueCondition(schedule, "Invalid") != nullptr;
    })) << c.name
        << DumpJson(schedule) << ManagerLog();
    const Json* invalid = TrueCondition(schedule, "Invalid");
    if (invalid == nullptr) continue;
    const std::string message = JsonStringAt(*invalid, {"message"});
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_TRUE(WaitFor([&] { return HasEvent(c.name, "Invalid"); }))
        << c.name << DumpJson(EventsOf(c.name));
    EXPECT_TRUE(tracker_->Created(c.name).empty()) << c.name;
  }
  // Fixing the cron clears the condition and the schedule runs.
  ASSERT_TRUE(PatchSpec("bad-cron", {{"schedule", "@every 1s"}}).ok());
  EXPECT_TRUE(WaitFor([] { return !tracker_->Created("bad-cron").empty(); }, 30s))
      << DumpJson(GetSchedule("bad-cron")) << ManagerLog();
  EXPECT_TRUE(WaitFor([] { return TrueCondition(GetSchedule("bad-cron"), "Invalid") == nullptr; }))
      << DumpJson(GetSchedule("bad-cron"));
  for (const auto& c : cases) ASSERT_TRUE(DeleteSchedule(c.name).ok());
}

TEST_F(ScheduleE2e, ZzAuditLogIsClean) {
  // Wait for the last backups to settle so the audit log holds whole lifecycles.
  EXPECT_TRUE(WaitFor(
      [] {
        for (const auto& [name, b] : tracker_->Backups()) {
          if (!b.ended) return false;
        }
        return true;
      },
      60s));
  auto result = sandbox_->CheckAuditLog();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace brfed
