#include "federation/backup_decide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "api/backup_member.h"
#include "api/conditions.h"
#include "api/labels.h"
#include "api/volume_backup.h"

namespace brfed::federation {
namespace {

using Kind = BackupAction::Kind;
using std::chrono::seconds;
const Time kT0 = Time(seconds(1700000000));

Json NewVolumeBackup(std::vector<std::string> clusters = {"a", "b", "c"}) {
  Json vb = Json::parse(R"({
    "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
    "metadata": {"name": "vb1", "namespace": "ctl", "uid": "u-1", "resourceVersion": "1"},
    "spec": {"clusters": [], "template": {"br": {}, "s3": {"provider": "aws", "bucket": "bk",
             "prefix": "p"}, "volumeBackupInitJobMaxActiveSeconds": 600}}})");
  for (const auto& c : clusters) {
    vb["spec"]["clusters"].push_back(
        {{"k8sClusterName", c}, {"tcName", "tc"}, {"tcNamespace", "ns-" + c}});
  }
  return vb;
}

// A tiny in-memory world: the control-plane VolumeBackup and one member slot per data plane.
// Actions are applied with the API server's rules that matter here (resourceVersion
// preconditions, AlreadyExists); data-plane progress is scripted by the tests.
class World {
 public:
  explicit World(Json vb, std::vector<std::string> known = {"a", "b", "c"})
      : vb_(std::move(vb)), known_(std::move(known)) {
    for (const auto& c : known_) reachable_[c] = true;
  }

  BackupObservation Observe() const {
    BackupObservation obs;
    obs.volume_backup = std::make_shared<Json>(vb_);
    obs.known_clusters = known_;
    obs.now = now_;
    obs.gc_pause = gc_pause_;
    obs.teardown_seen = teardown_seen_;
    for (const auto& c : known_) {
      BackupClusterView view;
      // As the controller does: a cluster the probe finds unreachable gets no actions.
      view.reachable = reachable_.at(c) && !unreachable_error_.count(c);
      if (!view.reachable) view.problem = "connection refused";
      if (view.reachable && members_.count(c)) {
        // The controller's caches select our label; a live read finds the unmarked ones.
        const Json& m = members_.at(c);
        const bool marked = !JsonStringAt(m, {"metadata", "labels", api::kManagedByLabel}).empty();
        (marked ? view.member : view.unmarked_member) = std::make_shared<Json>(m);
      }
      if (permanent_.count(c)) view.permanent_error = permanent_.at(c);
      if (unreachable_error_.count(c)) view.unreachable_error = unreachable_error_.at(c);
      obs.clusters[c] = view;
    }
    return obs;
  }

  BackupDecision Decide(BackupDecideOptions options = {}) const {
    return DecideVolumeBackup(Observe(), options);
  }

  // Applies the first `limit` actions (all when negative), as the controller's act step would;
  // stops at the first failure like the controller does.
  BackupDecision Step(int limit = -1, BackupDecideOptions options = {}) {
    BackupDecision d = Decide(options);
    int n = 0;
    for (const auto& a : d.actions) {
      if (limit >= 0 && n++ >= limit) break;
      if (!Apply(a)) break;
    }
    for (const auto& e : d.events) events_.push_back(e.reason);
    // As the controller remembers it (only what status.steps[] would say too).
    if (d.tears_down && d.finished_phase.empty() && !teardown_seen_) teardown_seen_ = now_;
    return d;
  }

  bool Apply(const BackupAction& a) {
    switch (a.kind) {
      case Kind::kCreateMember: {
        if (members_.count(a.cluster)) return false;  // AlreadyExists
        Json m = *a.body;
        m["metadata"]["resourceVersion"] = std::to_string(++rv_);
        members_[a.cluster] = m;
        creates_[a.cluster]++;
        if (JsonStringAt(m, {"spec", "federalVolumeBackupPhase"}) == "initialize") init_creates_++;
        if (JsonStringAt(m, {"spec", "federalVolumeBackupPhase"}) == "execute") {
          EXPECT_TRUE(AnyInitialized()) << "execute member before any member is Initialized";
        }
        return true;
      }
      case Kind::kPatchMember: {
        if (!members_.count(a.cluster)) return false;
        Json& m = members_[a.cluster];
        if (JsonStringAt(*a.body, {"metadata", "resourceVersion"}) !=
            JsonStringAt(m, {"metadata", "resourceVersion"})) {
          return false;  // Conflict
        }
        Json patch = *a.body;
        patch["metadata"].erase("resourceVersion");
        if (JsonBoolAt(patch, {"spec", "resumeGcSchedule"}) &&
            JsonStringAt(patch, {"spec", "federalVolumeBackupPhase"}) != "teardown") {
          for (const auto& [c, other] : members_) {
            EXPECT_TRUE(api::IsVolumeBackupSnapshotsCreated(other))
                << "resumeGcSchedule before " << c << " created its snapshots";
          }
          EXPECT_EQ(members_.size(), known_.size());
        }
        m = ApplyMergePatch(m, patch);
        m["metadata"]["resourceVersion"] = std::to_string(++rv_);
        patches_.push_back(a.cluster + ":" + DumpJson(patch["spec"]));
        return true;
      }
      case Kind::kDeleteMember:
        members_.erase(a.cluster);
        deletes_.push_back(a.cluster);
        return true;
      case Kind::kPatchVolumeBackup:
      case Kind::kPatchVolumeBackupStatus: {
        if (JsonStringAt(*a.body, {"metadata", "resourceVersion"}) !=
            JsonStringAt(vb_, {"metadata", "resourceVersion"})) {
          return false;
        }
        Json patch = *a.body;
        patch["metadata"].erase("resourceVersion");
        if (a.kind == Kind::kPatchVolumeBackupStatus) {
          vb_["status"] = ApplyMergePatch(vb_.value("status", Json::object()), patch["status"]);
        } else {
          vb_ = ApplyMergePatch(vb_, patch);
          if (IsDeleting() && !api::HasFinalizer(vb_, api::kBackupProtectionFinalizer))
            gone_ = true;
        }
        vb_["metadata"]["resourceVersion"] = std::to_string(++rv_);
        return true;
      }
    }
    return false;
  }

  // Data-plane side.
  void Condition(const std::string& c, const std::string& type, const std::string& reason = "",
                 const std::string& message = "") {
    ASSERT_TRUE(members_.count(c)) << c;
    Json status = members_[c].value("status", Json::object());
    api::SetCondition(status, {type, "True", reason, message}, now_);
    members_[c]["status"] = status;
    members_[c]["metadata"]["resourceVersion"] = std::to_string(++rv_);
  }
  void SetStatusField(const std::string& c, const std::string& field, Json value) {
    members_[c]["status"][field] = std::move(value);
    members_[c]["metadata"]["resourceVersion"] = std::to_string(++rv_);
  }
  // A faithful-enough data plane: reacts to teardown like TiDB Operator does (b.6).
  void DataPlaneTeardown() {
    for (auto& [c, m] : members_) {
      if (api::MemberFederalPhase(m) != "teardown" || api::IsMemberTerminal(m)) continue;
      bool failed = api::IsVolumeBackupFailed(m) || api::IsVolumeBackupInitializeFailed(m) ||
                    !api::IsVolumeBackupComplete(m);
      Condition(c, failed ? "Failed" : "Complete");
    }
  }
  void Delete() { vb_["metadata"]["deletionTimestamp"] = FormatRfc3339(now_); }
  bool IsDeleting() const { return api::IsBeingDeleted(vb_); }
  bool AnyInitialized() const {
    for (const auto& [c, m] : members_) {
      if (api::IsVolumeBackupInitialized(m)) return true;
    }
    return false;
  }

  Json vb_;
  std::vector<std::string> known_;
  std::map<std::string, bool> reachable_;
  std::map<std::string, std::string> unreachable_error_;  // what the manager's probe says
  std::map<std::string, std::string> permanent_;
  std::map<std::string, Json> members_;
  std::map<std::string, int> creates_;
  int init_creates_ = 0;
  std::vector<std::string> patches_;
  std::vector<std::string> deletes_;
  std::vector<std::string> events_;
  bool gone_ = false;
  Time now_ = kT0;
  GcPauseMarks gc_pause_;  // what the controller would have seen
  std::optional<Time> teardown_seen_;
  long rv_ = 100;

  const Json& status() const { return vb_["status"]; }
  std::string phase() const { return JsonStringAt(vb_, {"status", "phase"}); }
  Json member(const std::string& c) const { return members_.at(c); }
};

// The finalizer, the initialize member in a (Running), and a reports it Initialized.
void RunToInitialized(World& w, const BackupDecideOptions& o = {}) {
  w.Step(-1, o);  // finalizer
  w.Step(-1, o);  // init member + Running
  w.Condition("a", "VolumeBackupInitialized");
}

// Initialized in a; execute members created in b (and c when reachable).
void RunToExecute(World& w, const BackupDecideOptions& o = {}) {
  RunToInitialized(w, o);
  w.Step(-1, o);  // execute everywhere reachable; the GCPause step starts now
}

// The data plane ends the members being torn down (a pass may first stop the members still
// without snapshots, then tear down the initialize member); the backup is then Failed, saying
// `why`.
void ExpectFailedOnceTornDown(World& w, const std::string& why) {
  for (int i = 0; i < 3 && w.phase() != "Failed"; ++i) {
    w.DataPlaneTeardown();
    w.Step();
  }
  EXPECT_EQ(w.phase(), "Failed");
  EXPECT_NE(api::ConditionMessage(w.status(), "Failed").find(why), std::string::npos)
      << DumpJson(w.status());
}

// Drives the world through the standard handshake up to (not including) teardown.
void RunToAllComplete(World& w) {
  RunToExecute(w);
  w.Step();
  for (const char* c : {"a", "b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
  w.Step();  // resume
  w.Condition("a", "VolumeBackupInitializeComplete");
  w.Step();
  for (const char* c : {"a", "b", "c"}) {
    w.SetStatusField(c, "backupSize", 1000);
    w.SetStatusField(c, "commitTs", std::string(c) == "b" ? "400" : "500");
    w.SetStatusField(c, "backupPath", std::string("s3://bk/p-") + c);
    w.Condition(c, "VolumeBackupComplete");
  }
}

TEST(BackupDecideTest, FinalizerFirstAndAlone) {
  World w(NewVolumeBackup());
  BackupDecision d = w.Decide();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(d.actions[0].kind, Kind::kPatchVolumeBackup);
  EXPECT_EQ((*d.actions[0].body)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*d.actions[0].body)["metadata"]["finalizers"][0],
            "tidb.pingcap.com/backup-protection");
  // It starts the backup: it waits for room in the control plane's bucket.
  EXPECT_EQ(d.actions[0].admission_on, (std::vector<std::string>{""}));
}

TEST(BackupDecideTest, CreatesExactlyOneInitializeMemberInFirstCluster) {
  World w(NewVolumeBackup());
  w.Step();
  BackupDecision d = w.Step();
  ASSERT_EQ(d.actions.size(), 2u);
  EXPECT_EQ(d.actions[0].kind, Kind::kCreateMember);
  EXPECT_EQ(d.actions[0].cluster, "a");
  EXPECT_EQ(d.actions[0].ns, "ns-a");
  EXPECT_EQ(d.actions[0].name, "fed-vb1");
  EXPECT_EQ((*d.actions[0].body)["spec"]["federalVolumeBackupPhase"], "initialize");
  // It opens the GC pause, which will need writes on every cluster of the backup.
  EXPECT_EQ(d.actions[0].admission_on, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.actions[1].kind, Kind::kPatchVolumeBackupStatus);
  EXPECT_EQ(w.phase(), "Running");
  EXPECT_EQ(w.status()["timeStarted"], FormatRfc3339(kT0));
  EXPECT_EQ(w.status()["steps"][0]["stepName"], "Initialize");
  // Waiting for Initialized: nothing to do, no requeue (member events wake us).
  for (const char* c : {"Scheduled", "Running"}) {
    w.Condition("a", c);
    d = w.Step();
    for (const auto& a : d.actions) EXPECT_EQ(a.kind, Kind::kPatchVolumeBackupStatus);
    EXPECT_FALSE(d.requeue_after.has_value());
  }
  EXPECT_EQ(w.members_.size(), 1u);
  EXPECT_EQ(w.init_creates_, 1);
  // Every write after it is one the pause may be waiting for: none opens one.
  w.Condition("a", "VolumeBackupInitialized");
  d = w.Step();
  ASSERT_GE(d.actions.size(), 3u);  // the execute creates, the init member's patch
  for (const auto& a : d.actions) EXPECT_TRUE(a.admission_on.empty()) << a.cluster;
}

// Issue 18, finding 7: backups without s3.prefix collide in one S3 location; say so at start.
TEST(BackupDecideTest, MissingS3PrefixWarnsOnceAtStart) {
  for (bool with_prefix : {true, false}) {
    Json vb = NewVolumeBackup();
    if (!with_prefix) vb["spec"]["template"]["s3"].erase("prefix");
    World w(vb);
    w.Step();
    BackupDecision d = w.Step();
    EXPECT_EQ(w.phase(), "Running");
    auto warned = [](const BackupDecision& x) {
      return std::any_of(x.events.begin(), x.events.end(), [](const Event& e) {
        return e.type == "Warning" && e.reason == "NoS3Prefix";
      });
    };
    EXPECT_EQ(warned(d), !with_prefix);
    w.Condition("a", "VolumeBackupInitialized");
    EXPECT_FALSE(warned(w.Step()));
  }
}

TEST(BackupDecideTest, InitializedSwitchesToExecuteAndCreatesExecuteMembers) {
  World w(NewVolumeBackup());
  RunToInitialized(w);
  BackupDecision d = w.Step();
  ASSERT_GE(d.actions.size(), 3u);
  EXPECT_EQ(d.actions[0].kind, Kind::kPatchMember);
  EXPECT_EQ((*d.actions[0].body)["spec"], Json({{"federalVolumeBackupPhase", "execute"}}));
  EXPECT_FALSE((*d.actions[0].body)["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(w.member("b")["spec"]["federalVolumeBackupPhase"], "execute");
  EXPECT_EQ(w.member("c")["spec"]["s3"]["prefix"], "p-c");
  EXPECT_EQ(w.member("a")["spec"]["federalVolumeBackupPhase"], "execute");
  EXPECT_EQ(w.init_creates_, 1);
}

TEST(BackupDecideTest, ResumeGcOnlyAfterEverySnapshotCreated) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.Condition("a", "VolumeBackupSnapshotsCreated");
  w.Condition("b", "VolumeBackupSnapshotsCreated");
  w.Step();
  EXPECT_FALSE(api::MemberResumeGcSchedule(w.member("a")));
  w.Condition("c", "VolumeBackupSnapshotsCreated");
  w.now_ += seconds(2);
  BackupDecision d = w.Step();
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
  EXPECT_FALSE(api::MemberResumeGcSchedule(w.member("b")));
  // SnapshotsCreated waits for the resume, as upstream's does (it used to be set here, with
  // the resume request); the snapshots' end is visible meanwhile as the CreateSnapshots step.
  EXPECT_EQ(w.phase(), "Running");
  EXPECT_FALSE(api::IsConditionTrue(w.status(), "SnapshotsCreated"));
  bool snapshots_step_done = false;
  for (const Json& s : w.status()["steps"]) {
    if (s["stepName"] == "CreateSnapshots") snapshots_step_done = s.contains("timeCompleted");
  }
  EXPECT_TRUE(snapshots_step_done) << w.status().dump();
  w.now_ += seconds(1);
  w.Condition("a", "VolumeBackupInitializeComplete");
  d = w.Step();
  EXPECT_EQ(w.phase(), "SnapshotsCreated");
  ASSERT_TRUE(d.gc_pause_seconds.has_value());
  EXPECT_DOUBLE_EQ(*d.gc_pause_seconds, 3.0);
  bool found = false;
  for (const Json& s : w.status()["steps"]) {
    if (s["stepName"] == "GCPause") {
      found = true;
      EXPECT_EQ(s["timeTaken"], "3s");
    }
  }
  EXPECT_TRUE(found);
}

const Json* FindStep(const Json& status, const std::string& name) {
  for (const Json& s : status["steps"]) {
    if (s["stepName"] == name) return &s;
  }
  return nullptr;
}

TEST(GcPauseControlPlaneShareTest, Table) {
  using std::chrono::milliseconds;
  const Time t = kT0;  // the window opens (Initialized seen)
  auto at = [&](int ms) { return std::optional<Time>(t + milliseconds(ms)); };
  struct Case {
    const char* name;
    int closed_ms;
    GcPauseMarks marks;
    int want_ms;
  };
  const Case cases[] = {
      {"no marks: nothing is counted", 1000, {}, 0},
      {"both parts", 1000, {t, at(30), at(900), at(950)}, 30 + 50},
      {"execute only (window closed before every snapshot)", 1000, {t, at(40), {}, {}}, 40},
      {"no resume answered yet: up to the close (teardown in that pass)",
       1000,
       {t, at(10), at(980), {}},
       10 + 20},
      {"marks out of order contribute nothing", 1000, {t, at(-5), at(900), at(800)}, 0},
      {"a part past the close is clamped to the window", 100, {t, at(500), {}, {}}, 100},
      {"the sum never exceeds the window", 100, {t, at(90), at(0), at(90)}, 100},
      {"empty window", 0, {t, at(10), at(0), at(10)}, 0},
      {"closed before opened", -10, {t, at(10), {}, {}}, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GcPauseControlPlaneShare(t, t + milliseconds(c.closed_ms), c.marks),
              milliseconds(c.want_ms))
        << c.name;
  }
}

TEST(BackupDecideTest, GcPauseStepCarriesTheControlPlaneShare) {
  using std::chrono::milliseconds;
  World w(NewVolumeBackup());
  RunToInitialized(w);
  w.gc_pause_.initialized_seen = w.now_;  // the event arrives; the pass runs 20 ms later
  w.now_ += milliseconds(20);
  w.Step();
  const Json* step = FindStep(w.status(), "GCPause");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ((*step)["timeStarted"], FormatRfc3339Micro(*w.gc_pause_.initialized_seen));
  w.gc_pause_.execute_written = w.now_ + milliseconds(5);  // 25 ms after Initialized was seen
  w.now_ += seconds(2);
  for (const char* c : {"a", "b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
  w.gc_pause_.snapshots_seen = w.now_;
  w.now_ += milliseconds(10);
  w.Step();                                               // resume
  w.gc_pause_.resume_written = w.now_ + milliseconds(3);  // 13 ms after the last snapshot
  w.now_ += seconds(1);
  w.Condition("a", "VolumeBackupInitializeComplete");
  BackupDecision d = w.Step();
  ASSERT_TRUE(d.gc_pause_seconds.has_value());
  ASSERT_TRUE(d.gc_pause_control_plane_seconds.has_value());
  EXPECT_NEAR(*d.gc_pause_control_plane_seconds, 0.038, 1e-9);
  EXPECT_LE(*d.gc_pause_control_plane_seconds, *d.gc_pause_seconds);
  step = FindStep(w.status(), "GCPause");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ((*step)["timeTaken"], "3.03s");
  EXPECT_EQ((*step)["controlPlaneTimeTaken"], "38ms");
}

TEST(BackupDecideTest, NoControlPlaneShareForAWindowOpenedBeforeThisManager) {
  using std::chrono::milliseconds;
  for (bool marks_after_start : {false, true}) {
    World w(NewVolumeBackup());
    RunToExecute(w);
    for (const char* c : {"a", "b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
    w.now_ += seconds(1);
    // A restarted manager: no marks at all, or marks from its relist (after the window opened).
    if (marks_after_start) w.gc_pause_ = {w.now_, w.now_, w.now_, w.now_};
    w.Step();
    w.Condition("a", "VolumeBackupInitializeComplete");
    BackupDecision d = w.Step();
    ASSERT_TRUE(d.gc_pause_seconds.has_value()) << marks_after_start;
    EXPECT_FALSE(d.gc_pause_control_plane_seconds.has_value()) << marks_after_start;
    const Json* step = FindStep(w.status(), "GCPause");
    ASSERT_NE(step, nullptr);
    EXPECT_FALSE(step->contains("controlPlaneTimeTaken")) << marks_after_start;
  }
}

// Upstream's CRDs prune status.steps, so every pass starts from a status without them.
BackupDecision StepWithoutSteps(World& w) {
  if (w.vb_["status"].is_object()) w.vb_["status"].erase("steps");
  BackupDecision d = w.Step();
  if (w.vb_["status"].is_object()) w.vb_["status"].erase("steps");
  return d;
}

// Without status.steps the GC-pause window is taken from the members: it opens when the manager
// saw Initialized (or, for a manager started later, at the initialize member's
// VolumeBackupInitialized transition) and closes, once, when the release is seen or teardown is
// sent; what the CRD keeps (conditions, status.backups[]) or the controller's memory
// (window_recorded) tells a later pass it already closed.
TEST(BackupDecideTest, GcPauseWindowWithoutStepsIsMeasuredOnceFromTheMembers) {
  enum class End {
    kGcResumed,
    kMemberFails,
    kInitializeMemberFailsAndEnds,
    kTeardownPassFailsAtTheStatusWrite
  };
  struct Case {
    const char* name;
    End end;
    bool marks;  // this manager saw the Initialized event (else: restarted inside the window)
    double want_seconds;
  };
  const Case cases[] = {
      {"GC resumed after every snapshot", End::kGcResumed, true, 4.0},
      {"GC resumed, manager restarted inside the window", End::kGcResumed, false, 4.0},
      // c, still without snapshots, is stopped first; teardown a pass (a second) later closes it.
      {"a member fails: teardown closes it", End::kMemberFails, true, 4.0},
      {"a member fails, manager restarted", End::kMemberFails, false, 4.0},
      {"the initialize member fails and ends", End::kInitializeMemberFailsAndEnds, true, 3.0},
      {"the teardown pass fails at its status write: closed at the release instead",
       End::kTeardownPassFailsAtTheStatusWrite, true, 4.0},
  };
  for (const Case& c : cases) {
    World w(NewVolumeBackup());
    std::vector<double> windows, shares;
    auto pass = [&] {
      BackupDecision d = StepWithoutSteps(w);
      if (d.gc_pause_seconds) {
        windows.push_back(*d.gc_pause_seconds);
        w.gc_pause_.window_recorded = true;  // as the controller remembers it
      }
      if (d.gc_pause_control_plane_seconds) shares.push_back(*d.gc_pause_control_plane_seconds);
    };
    pass();  // finalizer
    pass();  // initialize member
    w.Condition("a", "VolumeBackupInitialized");
    if (c.marks) w.gc_pause_.initialized_seen = w.now_;
    w.now_ += seconds(1);
    pass();  // execute
    w.now_ += seconds(2);
    switch (c.end) {
      case End::kGcResumed:
        for (const char* m : {"a", "b", "c"}) w.Condition(m, "VolumeBackupSnapshotsCreated");
        pass();  // resumeGcSchedule
        w.now_ += seconds(1);
        w.Condition("a", "VolumeBackupInitializeComplete");
        break;
      case End::kMemberFails:
        w.Condition("b", "VolumeBackupFailed", "BackupDataToRemoteFailed");
        break;
      case End::kInitializeMemberFailsAndEnds:
        w.Condition("a", "VolumeBackupInitializeFailed", "PauseFailed");
        w.Condition("a", "Failed");
        break;
      case End::kTeardownPassFailsAtTheStatusWrite: {
        w.Condition("b", "VolumeBackupFailed", "BackupDataToRemoteFailed");
        BackupDecision d = w.Decide();
        ASSERT_GE(d.actions.size(), 2u) << c.name;
        const size_t events = w.events_.size();
        w.Step(static_cast<int>(d.actions.size()) - 1);  // every member write, not the status
        w.events_.resize(events);                        // a failed pass records no Event
        if (w.vb_["status"].is_object()) w.vb_["status"].erase("steps");
        w.now_ += seconds(1);
        w.Condition("a", "VolumeBackupInitializeComplete");  // the release
        break;
      }
    }
    for (int i = 0; i < 6; ++i) {
      pass();
      w.DataPlaneTeardown();
      if (c.end == End::kGcResumed) {
        for (const char* m : {"a", "b", "c"}) w.Condition(m, "VolumeBackupComplete");
      }
      w.now_ += seconds(1);
    }
    ASSERT_EQ(windows.size(), 1u) << c.name << DumpJson(w.status());
    EXPECT_DOUBLE_EQ(windows[0], c.want_seconds) << c.name;
    EXPECT_EQ(shares.size(), c.marks ? 1u : 0u) << c.name;
    EXPECT_EQ(std::count(w.events_.begin(), w.events_.end(), "GCResumed"), 1) << c.name;
    EXPECT_TRUE(w.phase() == "Complete" || w.phase() == "Failed") << c.name << w.phase();
  }
}

// Issue 16: a status change that only mirrors member fields may wait for the batch window; a
// protocol transition (conditions, steps, phase, times) or a change with an Event never does.
TEST(BackupDecideTest, OnlyMemberMirrorStatusChangesMayWait) {
  auto status_action = [](const BackupDecision& d) -> const BackupAction* {
    for (const auto& a : d.actions) {
      if (a.kind == Kind::kPatchVolumeBackupStatus) return &a;
    }
    return nullptr;
  };
  World w(NewVolumeBackup());
  w.Step();                               // finalizer
  const BackupDecision start = w.Step();  // init member + Running
  ASSERT_NE(status_action(start), nullptr);
  EXPECT_FALSE(status_action(start)->may_wait);
  struct Case {
    std::string name;
    std::function<void()> change;
    bool may_wait;
  } cases[] = {
      {"member phase", [&] { w.SetStatusField("a", "phase", "Scheduled"); }, true},
      {"member phase again", [&] { w.SetStatusField("a", "phase", "Running"); }, true},
      {"Initialized: execute, steps, Event", [&] { w.Condition("a", "VolumeBackupInitialized"); },
       false},
      {"execute member phase", [&] { w.SetStatusField("b", "phase", "Running"); }, true},
      {"unreachable cluster: a message with an Event", [&] { w.reachable_["c"] = false; }, false},
  };
  for (const Case& c : cases) {
    c.change();
    const BackupDecision d = w.Step();
    const BackupAction* a = status_action(d);
    ASSERT_NE(a, nullptr) << c.name;
    EXPECT_EQ(a->may_wait, c.may_wait) << c.name;
    if (a->may_wait) {
      EXPECT_EQ((*a->body)["status"].size(), 1u) << c.name;
      EXPECT_TRUE((*a->body)["status"].contains("backups")) << c.name;
      EXPECT_TRUE(d.events.empty()) << c.name;
    }
  }
}

TEST(BackupDecideTest, HappyPathCompletesWithAggregates) {
  World w(NewVolumeBackup());
  RunToAllComplete(w);
  w.now_ += seconds(90);
  BackupDecision d = w.Step();  // teardown
  for (const char* c : {"a", "b", "c"}) EXPECT_EQ(api::MemberFederalPhase(w.member(c)), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
  EXPECT_NE(w.phase(), "Complete");
  w.DataPlaneTeardown();
  d = w.Step();
  EXPECT_EQ(w.phase(), "Complete");
  EXPECT_EQ(d.finished_phase, "Complete");
  EXPECT_EQ(w.status()["backupSize"], 3000);
  EXPECT_EQ(w.status()["backupSizeReadable"], "3.0 kB");
  EXPECT_EQ(w.status()["commitTs"], "400");
  EXPECT_EQ(w.status()["timeTaken"], "1m30s");
  ASSERT_EQ(w.status()["backups"].size(), 3u);
  EXPECT_EQ(w.status()["backups"][1]["backupPath"], "s3://bk/p-b");
  EXPECT_EQ(w.status()["backups"][1]["phase"], "Complete");
  // Terminal: nothing more, ever.
  d = w.Step();
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(w.init_creates_, 1);
  for (const auto& [c, n] : w.creates_) EXPECT_EQ(n, 1) << c;
}

TEST(BackupDecideTest, SameObservationSameDecision) {
  World w(NewVolumeBackup());
  RunToInitialized(w);
  BackupDecision d1 = w.Decide();
  BackupDecision d2 = w.Decide();
  ASSERT_EQ(d1.actions.size(), d2.actions.size());
  for (size_t i = 0; i < d1.actions.size(); ++i) {
    EXPECT_EQ(d1.actions[i].kind, d2.actions[i].kind);
    EXPECT_EQ(d1.actions[i].cluster, d2.actions[i].cluster);
    EXPECT_EQ(DumpJson(*d1.actions[i].body), DumpJson(*d2.actions[i].body));
  }
  // After acting, deciding again on the new observation changes nothing further.
  w.Step();
  w.Step();
  BackupDecision d3 = w.Decide();
  EXPECT_TRUE(d3.actions.empty());
}

TEST(BackupDecideTest, InitializeFailureTearsDownAndFails) {
  World w(NewVolumeBackup());
  w.Step();
  w.Step();
  w.Condition("a", "VolumeBackupInitializeFailed", "InitializeVolumeBackupFailed", "br exited 1");
  w.Step();
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
  EXPECT_EQ(w.members_.size(), 1u) << "no execute member after a failed initialize";
  w.DataPlaneTeardown();
  BackupDecision d = w.Step();
  EXPECT_EQ(w.phase(), "Failed");
  EXPECT_EQ(d.finished_phase, "Failed");
  const Json* failed = api::FindCondition(w.status(), "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["reason"], "VolumeBackupMemberFailed");
  EXPECT_NE(
      (*failed)["message"].get<std::string>().find(
          "fed-vb1 in cluster a: VolumeBackupInitializeFailed (InitializeVolumeBackupFailed)"),
      std::string::npos);
  EXPECT_EQ(w.status()["backups"][0]["reason"], "InitializeVolumeBackupFailed");
}

TEST(BackupDecideTest, AnyExecuteFailureTearsDownEverywhereAndNamesEveryFailure) {
  for (const char* failure : {"VolumeBackupFailed", "Failed", "Invalid"}) {
    World w(NewVolumeBackup());
    RunToExecute(w);
    // b has its snapshots, so it is torn down rather than stopped (FailureStopsMembers...).
    w.Condition("b", "VolumeBackupSnapshotsCreated");
    w.Condition("c", failure, "BackupDataToRemoteFailed", "s3 down");
    w.Step();
    for (const char* c : {"a", "b"}) {
      EXPECT_EQ(api::MemberFederalPhase(w.member(c)), "teardown") << failure << " " << c;
    }
    EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a"))) << failure;
    // b fails too while tearing down; a still running: not Failed yet (#5500, #5761).
    w.Condition("b", "VolumeBackupFailed", "AlreadyFailed", "pod crashed");
    w.Condition("b", "Failed");
    if (std::string(failure) == "VolumeBackupFailed") w.Condition("c", "Failed");
    w.Step();
    EXPECT_NE(w.phase(), "Failed") << failure;
    w.Condition("a", "Failed");
    w.Step();
    ASSERT_EQ(w.phase(), "Failed") << failure;
    std::string message = api::ConditionMessage(w.status(), "Failed");
    EXPECT_NE(message.find("cluster b"), std::string::npos) << message;
    EXPECT_NE(message.find("cluster c"), std::string::npos) << message;
    EXPECT_NE(message.find("cluster a"), std::string::npos) << message;
  }
}

TEST(BackupDecideTest, FailedStillReportsTheSizeTheMembersHold) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.SetStatusField("a", "backupSize", 2000000);
  w.SetStatusField("b", "backupSize", 500000);
  w.Condition("b", "VolumeBackupSnapshotsCreated");
  w.Condition("c", "VolumeBackupFailed", "BackupDataToRemoteFailed", "s3 down");
  for (int i = 0; i < 4 && w.phase() != "Failed"; ++i) {
    w.Step();
    w.DataPlaneTeardown();
  }
  BackupDecision d = w.Decide();
  ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
  EXPECT_EQ(w.status()["backupSize"], 2500000);
  EXPECT_EQ(w.status()["backupSizeReadable"], "2.5 MB");
}

TEST(BackupDecideTest, FailureWhileWaitingForSnapshotsStillResumesGc) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.Condition("a", "VolumeBackupSnapshotsCreated");
  w.Condition("b", "VolumeBackupFailed", "BackupDataToRemoteFailed");
  w.now_ += seconds(4);
  BackupDecision d = w.Step();
  EXPECT_EQ(w.deletes_, (std::vector<std::string>{"c"})) << "c has no snapshots: stopped first";
  EXPECT_FALSE(api::MemberResumeGcSchedule(w.member("a")));
  w.now_ += std::chrono::milliseconds(100);
  d = w.Step();
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a"))) << "c is gone";
  ASSERT_TRUE(d.gc_pause_seconds.has_value()) << "the pause window closes at teardown";
  EXPECT_DOUBLE_EQ(*d.gc_pause_seconds, 4.1);
}

TEST(BackupDecideTest, UnreachableClusterRetriesWithMessage) {
  World w(NewVolumeBackup());
  RunToInitialized(w);
  w.reachable_["c"] = false;
  BackupDecision d = w.Step();
  ASSERT_TRUE(d.requeue_after.has_value());
  for (const auto& a : d.actions) EXPECT_NE(a.cluster, "c");
  EXPECT_TRUE(w.members_.count("b"));
  EXPECT_FALSE(w.members_.count("c"));
  ASSERT_EQ(w.status()["backups"].size(), 2u) << "b appears once it is observed";
  const Json& entry = w.status()["backups"][1];
  EXPECT_EQ(entry["k8sClusterName"], "c");
  EXPECT_EQ(entry["reason"], "ClusterUnreachable");
  EXPECT_NE(entry["message"].get<std::string>().find("connection refused"), std::string::npos);
  w.reachable_["c"] = true;
  w.Step();
  EXPECT_TRUE(w.members_.count("c"));
  w.Step();
  ASSERT_EQ(w.status()["backups"].size(), 3u);
  EXPECT_FALSE(w.status()["backups"][2].contains("reason"));
}

TEST(BackupDecideTest, ProbedUnreachableDataPlaneShowsAsConditionUntilItAnswers) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  ASSERT_EQ(api::FindCondition(w.status(), kDataPlaneUnreachableCondition), nullptr);
  struct Row {
    std::map<std::string, std::string> errors;
    std::string status;  // "" = no condition expected to change
    std::vector<std::string> named;
    int events;  // DataPlaneUnreachable Events so far
  };
  const Row rows[] = {
      {{{"b", "Timeout: GET /version timed out"}}, "True", {"cluster b", "timed out"}, 1},
      // Still down: no second Event.
      {{{"b", "Timeout: GET /version timed out"}}, "True", {"cluster b"}, 1},
      {{{"b", "Timeout: x"}, {"c", "Unavailable: refused"}},
       "True",
       {"cluster b: Timeout: x", "cluster c: Unavailable: refused"},
       1},
      {{}, "False", {"every data plane answers again"}, 1},
      {{{"c", "Unavailable: refused"}}, "True", {"cluster c"}, 2},
  };
  for (const Row& row : rows) {
    w.unreachable_error_ = row.errors;
    BackupDecision d = w.Step();
    const Json* c = api::FindCondition(w.status(), kDataPlaneUnreachableCondition);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(JsonStringAt(*c, {"status"}), row.status);
    for (const std::string& part : row.named) {
      EXPECT_NE(JsonStringAt(*c, {"message"}).find(part), std::string::npos)
          << part << " in " << DumpJson(*c);
    }
    EXPECT_EQ(std::count(w.events_.begin(), w.events_.end(), "DataPlaneUnreachable"), row.events);
    if (row.status == "True") {
      EXPECT_TRUE(d.requeue_after.has_value());
    }
  }
}

TEST(BackupDecideTest, UnreachableInitClusterDoesNotStart) {
  World w(NewVolumeBackup());
  w.Step();
  w.reachable_["a"] = false;
  BackupDecision d = w.Step();
  EXPECT_TRUE(w.members_.empty());
  EXPECT_TRUE(d.requeue_after.has_value());
  EXPECT_NE(w.phase(), "Running");
}

TEST(BackupDecideTest, PermanentCreateErrorFailsTheBackup) {
  World w(NewVolumeBackup());
  RunToInitialized(w);
  w.permanent_["b"] = "namespaces \"ns-b\" not found";
  w.Step();
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_EQ(w.members_.size(), 1u) << "no more members once one failed";
  ExpectFailedOnceTornDown(w, "could not be created");
}

TEST(BackupDecideTest, PermanentCreateErrorOnInitIsInvalid) {
  World w(NewVolumeBackup());
  w.Step();
  w.permanent_["a"] = "forbidden";
  w.Step();
  EXPECT_EQ(w.phase(), "Invalid");
  EXPECT_TRUE(w.members_.empty());
  w.permanent_.clear();
  w.Step();
  EXPECT_EQ(w.phase(), "Running");
}

TEST(BackupDecideTest, VanishedMemberFails) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.Condition("b", "Scheduled");
  w.Step();
  w.members_.erase("b");
  w.Step();
  ExpectFailedOnceTornDown(w, "deleted from the data plane");
  EXPECT_EQ(w.creates_["b"], 1);
}

TEST(BackupDecideTest, UnparseableCommitTsFailsInsteadOfRetryingForever) {
  World w(NewVolumeBackup());
  RunToAllComplete(w);
  w.SetStatusField("b", "commitTs", "garbage");
  w.Step();
  ExpectFailedOnceTornDown(w, "'garbage' is not a TSO");
}

TEST(BackupDecideTest, ValidationGivesInvalidWithoutMembersOrFinalizer) {
  Json vb = NewVolumeBackup({"a", "zz"});
  World w(vb);
  BackupDecision d = w.Step();
  EXPECT_EQ(w.phase(), "Invalid");
  EXPECT_TRUE(w.members_.empty());
  EXPECT_FALSE(api::HasFinalizer(w.vb_, api::kBackupProtectionFinalizer));
  EXPECT_EQ(api::ConditionReason(w.status(), "Invalid"), "UnknownCluster");
  EXPECT_NE(api::ConditionMessage(w.status(), "Invalid").find("known contexts: a, b, c"),
            std::string::npos);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "Warning");
  // Same problem again: no new Event, no write.
  d = w.Step();
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(d.actions.empty());
  // The context appears in the kubeconfig: the backup starts.
  w.known_.push_back("zz");
  w.reachable_["zz"] = true;
  w.Step();
  w.Step();
  EXPECT_EQ(w.phase(), "Running");
  EXPECT_FALSE(api::IsConditionTrue(w.status(), "Invalid"));
  EXPECT_EQ(w.members_.size(), 1u);
}

// Issue 18, finding 6: the Invalid condition and Event stay small whatever the input.
TEST(BackupDecideTest, InvalidMessageIsBounded) {
  Json vb = NewVolumeBackup();
  for (int i = 0; i < 5000; ++i) {
    vb["spec"]["clusters"].push_back({{"k8sClusterName", "unknown-" + std::to_string(i)},
                                      {"tcName", std::string(300, 'T')},
                                      {"tcNamespace", "ns"}});
  }
  World w(vb);
  BackupDecision d = w.Step();
  EXPECT_EQ(w.phase(), "Invalid");
  const std::string message = api::ConditionMessage(w.status(), "Invalid");
  EXPECT_LE(message.size(), 4096u + 32u);
  EXPECT_NE(message.find("bytes)"), std::string::npos);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].message, message);
}

TEST(BackupDecideTest, EveryValidationProblemEndsInvalid) {
  std::vector<std::function<void(Json&)>> breakers = {
      [](Json& v) { v["spec"]["clusters"] = Json::array(); },
      [](Json& v) { v["spec"]["clusters"][1]["k8sClusterName"] = "a"; },
      [](Json& v) { v["spec"]["clusters"][0].erase("tcName"); },
      [](Json& v) { v["spec"]["clusters"][0]["tcNamespace"] = "-bad-"; },
      [](Json& v) { v["spec"]["template"].erase("br"); },
      [](Json& v) { v["spec"]["template"].erase("s3"); },
      [](Json& v) { v["spec"].erase("template"); },
      [](Json& v) { v["metadata"]["name"] = std::string(60, 'x'); },
      [](Json& v) { v["spec"] = Json::object(); },
      [](Json& v) { v["spec"]["clusters"] = "a,b"; },
  };
  for (size_t i = 0; i < breakers.size(); ++i) {
    Json vb = NewVolumeBackup();
    breakers[i](vb);
    World w(vb);
    w.Step();
    EXPECT_EQ(w.phase(), "Invalid") << i;
    EXPECT_FALSE(api::ConditionMessage(w.status(), "Invalid").empty()) << i;
    EXPECT_TRUE(w.members_.empty()) << i;
  }
}

TEST(BackupDecideTest, ForeignMemberOfSameNameBlocksWithMessage) {
  World w(NewVolumeBackup());
  w.Step();
  Json old = api::BuildBackupMember(w.vb_, api::VolumeBackupClusters(w.vb_)[0], true);
  old["metadata"]["annotations"][std::string(api::kOwnerUidAnnotation)] = "u-old";
  old["metadata"]["resourceVersion"] = "5";
  w.members_["a"] = old;
  BackupDecision d = w.Step();
  EXPECT_TRUE(d.requeue_after.has_value());
  EXPECT_EQ(w.status()["backups"][0]["reason"], "MemberNameTaken");
  EXPECT_EQ(w.creates_["a"], 0);
}

// ---- hand-over from the Go br-federation-manager ---------------------------------------------

// What the Go manager leaves behind: members without our marks, and a status without our steps.
void MakeGoEra(World& w) {
  for (auto& [c, m] : w.members_) {
    m["metadata"]["labels"].erase(std::string(api::kManagedByLabel));
    m["metadata"]["labels"].erase(std::string(api::kVolumeBackupLabel));
    m["metadata"]["annotations"].erase(std::string(api::kOwnerAnnotation));
    m["metadata"]["annotations"].erase(std::string(api::kOwnerUidAnnotation));
    m["metadata"]["creationTimestamp"] = FormatRfc3339(w.now_);
  }
  if (w.vb_.contains("status")) w.vb_["status"].erase("steps");
}

// A data plane that moves every member one step per call, as TiDB Operator would.
void DataPlaneProgress(World& w) {
  for (auto& [c, m] : w.members_) {
    const std::string phase = api::MemberFederalPhase(m);
    if (api::IsMemberTerminal(m)) continue;
    if (phase == "initialize" && !api::IsVolumeBackupInitialized(m)) {
      w.Condition(c, "VolumeBackupInitialized");
    } else if (phase == "execute" && !api::IsVolumeBackupSnapshotsCreated(m)) {
      w.Condition(c, "VolumeBackupSnapshotsCreated");
    } else if (api::MemberResumeGcSchedule(m) && !api::IsVolumeBackupInitializeComplete(m)) {
      w.Condition(c, "VolumeBackupInitializeComplete");
    } else if (api::IsVolumeBackupSnapshotsCreated(m) && !api::IsVolumeBackupComplete(m) &&
               phase != "teardown") {
      w.SetStatusField(c, "backupSize", 1000);
      w.SetStatusField(c, "commitTs", "500");
      w.SetStatusField(c, "backupPath", "s3://bk/p-" + c);
      w.Condition(c, "VolumeBackupComplete");
    }
  }
  w.DataPlaneTeardown();
}

// Steps the world with a progressing data plane until the backup ends; fails the test on a
// create for a cluster that already has a member (a duplicate) or a Failed outcome.
void DriveToEnd(World& w, const std::string& label) {
  for (int i = 0; i < 40 && w.phase() != "Complete" && w.phase() != "Failed"; ++i) {
    BackupDecision d = w.Decide();
    for (const auto& a : d.actions) {
      if (a.kind == Kind::kCreateMember) {
        EXPECT_EQ(w.members_.count(a.cluster), 0u)
            << label << ": duplicate create in " << a.cluster;
      }
    }
    w.Step();
    DataPlaneProgress(w);
  }
}

TEST(BackupDecideTest, GoManagerBackupsAreAdoptedAndCompletedFromEveryPhase) {
  // The protocol in stages; a case plays the Go manager (and the data plane) through the first
  // `stages` of them, then hands over.
  const std::vector<std::function<void(World&)>> protocol = {
      [](World& w) {
        w.Step();  // finalizer
        w.Step();  // initialize member
      },
      [](World& w) { w.Condition("a", "VolumeBackupInitialized"); },
      [](World& w) {
        w.Step();  // execute everywhere
        w.Step();
      },
      [](World& w) {
        for (const char* c : {"a", "b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
        w.Step();  // resume
        w.Condition("a", "VolumeBackupInitializeComplete");
        w.Step();
      },
      [](World& w) {
        for (const char* c : {"a", "b", "c"}) {
          w.SetStatusField(c, "backupSize", 1000);
          w.SetStatusField(c, "commitTs", "500");
          w.Condition(c, "VolumeBackupComplete");
        }
        w.Step();  // teardown sent
      },
  };
  const std::vector<std::pair<const char*, size_t>> cases = {
      {"initialize member created", 1},     {"initialized", 2},   {"execute members created", 3},
      {"snapshots created, GC resumed", 4}, {"teardown sent", 5},
  };
  for (const auto& [name, stages] : cases) {
    World w(NewVolumeBackup());
    w.vb_["metadata"]["creationTimestamp"] = FormatRfc3339(w.now_);
    for (size_t i = 0; i < stages; ++i) protocol[i](w);
    const auto had_members = w.members_.size();
    ASSERT_GT(had_members, 0u) << name;
    MakeGoEra(w);
    w.init_creates_ = 0;    // what happened so far was the Go manager's doing
    w.now_ += seconds(30);  // ours starts later

    BackupDecision first = w.Decide();
    ASSERT_EQ(first.actions.size(), had_members) << name << ": adoption comes first and alone";
    for (const auto& a : first.actions) {
      EXPECT_EQ(a.kind, Kind::kPatchMember) << name;
      EXPECT_FALSE(a.body->contains("spec")) << name << ": adoption is metadata only";
    }
    EXPECT_EQ(first.events.size(), had_members);
    EXPECT_EQ(*first.status, w.vb_.value("status", Json())) << name << ": status untouched";
    const std::string phase_before = w.phase();
    DriveToEnd(w, name);
    EXPECT_EQ(w.phase(), "Complete")
        << name << " (was " << phase_before << ") " << DumpJson(w.status());
    EXPECT_EQ(w.init_creates_, 0) << name << ": the Go manager's initialize member is reused";
    for (const auto& [cluster, m] : w.members_) {
      EXPECT_TRUE(api::MemberBelongsTo(m, w.vb_)) << name << " " << cluster;
    }
  }
}

TEST(BackupDecideTest, UnmarkedMemberNotBuiltForThisBackupBlocksAndIsNeverAdopted) {
  World w(NewVolumeBackup());
  w.vb_["metadata"]["creationTimestamp"] = FormatRfc3339(w.now_);
  w.Step();
  w.Step();
  MakeGoEra(w);
  // Older than the VolumeBackup: left over from an earlier object of the same name.
  w.members_["a"]["metadata"]["creationTimestamp"] = FormatRfc3339(w.now_ - seconds(60));
  BackupDecision d = w.Step();
  for (const auto& a : d.actions) EXPECT_NE(a.kind, Kind::kPatchMember) << DumpJson(*a.body);
  EXPECT_EQ(w.status()["backups"][0]["reason"], "MemberNameTaken");
  EXPECT_NE(w.phase(), "Failed");
}

TEST(BackupDecideTest, DeletingAGoEraBackupDeletesItsMembersBeforeCleaned) {
  World w(NewVolumeBackup());
  w.vb_["metadata"]["creationTimestamp"] = FormatRfc3339(w.now_);
  RunToAllComplete(w);
  w.Step();
  w.DataPlaneTeardown();
  w.Step();
  ASSERT_EQ(w.phase(), "Complete");
  MakeGoEra(w);
  w.Delete();
  BackupDecision d = w.Step();
  EXPECT_NE(w.phase(), "Cleaned") << "unmarked members are not absent members";
  EXPECT_TRUE(w.deletes_.empty());
  for (int i = 0; i < 5 && !w.gone_; ++i) w.Step();
  EXPECT_EQ(w.deletes_.size(), 3u);
  EXPECT_TRUE(w.members_.empty());
  EXPECT_TRUE(w.gone_);
}

// A member stopped before it reported its snapshots would fail its clean for ever under
// cleanPolicy Delete (its backupmeta is missing; contract b.7) and hold the VolumeBackup: its
// policy becomes OnFailure first, in the same pass and before the delete. Other policies stay.
TEST(BackupDecideTest, AMemberStoppedWithoutSnapshotsGetsOnFailureBeforeItsDeletion) {
  for (const char* policy : {"Delete", "Retain", "OnFailure"}) {
    SCOPED_TRACE(policy);
    Json vb = NewVolumeBackup();
    vb["spec"]["template"]["cleanPolicy"] = policy;
    World w(vb);
    RunToExecute(w);
    w.patches_.clear();
    w.Delete();
    BackupDecision d = w.Step();
    std::vector<std::string> order;
    for (const auto& a : d.actions) {
      if (a.kind == Kind::kPatchMember && JsonAt(*a.body, {"spec", "cleanPolicy"}) != nullptr) {
        order.push_back("patch " + a.cluster + " " +
                        JsonStringAt(*a.body, {"spec", "cleanPolicy"}));
      } else if (a.kind == Kind::kDeleteMember) {
        order.push_back("delete " + a.cluster);
      }
    }
    const std::vector<std::string> with_patch = {"patch b OnFailure", "delete b",
                                                 "patch c OnFailure", "delete c"};
    const std::vector<std::string> without = {"delete b", "delete c"};
    EXPECT_EQ(order, std::string(policy) == "Delete" ? with_patch : without);
  }
}

TEST(BackupDecideTest, DeleteMidFlightStopsMembersWithoutSnapshotsThenTearsDownThenCleans) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.Delete();
  // Execute members without snapshots are stopped first; GC stays paused meanwhile, so none of
  // them can take snapshots after the pause (issue 18, chaos seeds 1167, 1207, kube 2023).
  BackupDecision d = w.Step();
  std::vector<std::string> foreground;
  for (const auto& a : d.actions) {
    if (a.kind == Kind::kDeleteMember && a.propagation_policy == "Foreground") {
      foreground.push_back(a.cluster);
    }
  }
  EXPECT_EQ(foreground, (std::vector<std::string>{"b", "c"}));
  EXPECT_NE(api::MemberFederalPhase(w.member("a")), "teardown");
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_LE(*d.requeue_after, seconds(10));
  // Once they are gone, teardown releases the pause.
  w.Step();
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
  EXPECT_EQ(w.deletes_.size(), 2u) << "the initialize member is deleted only after the release";
  // The data plane releases the pause (teardown ends the init member).
  w.DataPlaneTeardown();
  w.Step();
  EXPECT_EQ(w.deletes_.size(), 3u);
  EXPECT_TRUE(w.members_.empty());
  d = w.Step();
  EXPECT_EQ(w.phase(), "Cleaned");
  EXPECT_EQ(d.cleanup_phase, "Cleaned");
  w.Step();
  EXPECT_TRUE(w.gone_);
}

TEST(BackupDecideTest, DeleteMidFlightResumesGcAfterTheStopGraceEvenIfAMemberLingers) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  const Json c = w.member("c");
  w.Delete();
  w.Step();
  // c's foreground deletion does not finish (its data plane is slow to collect the job).
  w.members_["c"] = c;
  w.members_["c"]["metadata"]["deletionTimestamp"] = FormatRfc3339(w.now_);
  w.Step();
  EXPECT_NE(api::MemberFederalPhase(w.member("a")), "teardown") << "within the grace";
  w.now_ += seconds(10);
  w.Step();
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
}

TEST(BackupDecideTest, DeleteTearsDownAtOnceWhenEveryMemberHasItsSnapshots) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  for (const char* c : {"b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
  w.Delete();
  BackupDecision d = w.Step();
  for (const auto& a : d.actions) EXPECT_NE(a.kind, Kind::kDeleteMember);
  for (const char* c : {"a", "b", "c"}) {
    EXPECT_EQ(api::MemberFederalPhase(w.member(c)), "teardown") << c;
  }
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
}

TEST(BackupDecideTest, DeleteDeletesAnywayAfterGrace) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.Delete();
  w.Step();
  w.now_ += seconds(61);
  w.Step();
  EXPECT_EQ(w.deletes_.size(), 3u);
}

TEST(BackupDecideTest, DeleteWaitsForDataPlaneFinalizersAndReportsCleanFailed) {
  World w(NewVolumeBackup());
  RunToAllComplete(w);
  w.Step();
  w.DataPlaneTeardown();
  w.Step();
  ASSERT_EQ(w.phase(), "Complete");
  w.Delete();
  // Members linger with their own finalizer (cleanPolicy Delete); one fails to clean.
  BackupDecision d = w.Decide();
  int deletes = 0;
  for (const auto& a : d.actions) deletes += a.kind == Kind::kDeleteMember;
  EXPECT_EQ(deletes, 3);
  for (const char* c : {"a", "b", "c"}) w.members_[c]["metadata"]["deletionTimestamp"] = "x";
  w.Condition("b", "CleanFailed", "CleanBackupDataFailed");
  d = w.Step();
  EXPECT_EQ(w.phase(), "CleanFailed");
  EXPECT_EQ(d.cleanup_phase, "CleanFailed");
  EXPECT_TRUE(w.deletes_.empty()) << "members already being deleted are not deleted again";
  EXPECT_TRUE(api::HasFinalizer(w.vb_, api::kBackupProtectionFinalizer));
  w.members_.clear();
  w.Step();
  EXPECT_EQ(w.phase(), "Cleaned");
  w.Step();
  EXPECT_TRUE(w.gone_);
}

TEST(BackupDecideTest, DeletingInvalidBackupNeedsNothing) {
  World w(NewVolumeBackup({}));
  w.Step();
  w.Delete();
  EXPECT_TRUE(w.Decide().actions.empty());
}

TEST(BackupDecideTest, DeleteWithUnreachableClusterWaits) {
  World w(NewVolumeBackup());
  RunToAllComplete(w);
  w.Delete();
  w.reachable_["c"] = false;
  w.Step();
  w.Step();
  BackupDecision d = w.Step();
  EXPECT_NE(w.phase(), "Cleaned");
  EXPECT_TRUE(d.requeue_after.has_value());
}

// Invariant 5.6 at the decision level: the manager dies after a random prefix of its actions,
// over and over; the outcome is still Complete with one member per cluster and one
// initialize member.
TEST(BackupDecideTest, CrashAfterAnyPrefixOfActionsStillCompletes) {
  std::mt19937 rng(42);
  for (int run = 0; run < 200; ++run) {
    World w(NewVolumeBackup());
    auto step = [&] {
      int limit = std::uniform_int_distribution<int>(-1, 3)(rng);
      w.Step(limit);
    };
    for (int i = 0; i < 400 && w.phase() != "Complete"; ++i) {
      step();
      // The data plane progresses on its own.
      if (w.members_.count("a") && !w.AnyInitialized()) w.Condition("a", "VolumeBackupInitialized");
      if (w.members_.size() == 3) {
        for (const char* c : {"a", "b", "c"}) {
          if (!api::IsVolumeBackupSnapshotsCreated(w.member(c))) {
            w.Condition(c, "VolumeBackupSnapshotsCreated");
          }
        }
        if (api::MemberResumeGcSchedule(w.member("a")) &&
            !api::IsVolumeBackupInitializeComplete(w.member("a"))) {
          w.Condition("a", "VolumeBackupInitializeComplete");
          for (const char* c : {"a", "b", "c"}) {
            w.SetStatusField(c, "commitTs", "7");
            w.Condition(c, "VolumeBackupComplete");
          }
        }
        w.DataPlaneTeardown();
      }
    }
    ASSERT_EQ(w.phase(), "Complete") << "run " << run;
    EXPECT_EQ(w.init_creates_, 1);
    for (const auto& [c, n] : w.creates_) EXPECT_EQ(n, 1) << c;
  }
}

// ---- issue 18, item 2: the GC-pause budget ---------------------------------------------------

BackupDecideOptions Budget(std::chrono::milliseconds budget) {
  BackupDecideOptions o;
  o.gc_pause_budget = budget;
  return o;
}

// Upstream's CRDs prune status.steps: the budget then runs from the initialize member's own
// VolumeBackupInitialized transition (found by kube.manager_integration.upstream_federation_crds).
TEST(BackupDecideTest, PauseBudgetRunsWithoutStepsFromTheInitializeMembersTransition) {
  World w(NewVolumeBackup());
  const BackupDecideOptions o = Budget(seconds(30));
  w.unreachable_error_["c"] = "probe: timed out";
  RunToExecute(w, o);
  w.vb_["status"].erase("steps");
  w.now_ += seconds(29);
  w.Step(-1, o);
  w.vb_["status"].erase("steps");
  EXPECT_EQ(w.phase(), "Running") << DumpJson(w.status());
  w.now_ += seconds(1);
  w.Step(-1, o);
  ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
  EXPECT_EQ(api::ConditionReason(w.status(), "Failed"), "PauseBudgetExceeded");
}

TEST(BackupDecideTest, PauseBudgetFailsAtOnceNamingTheLateClustersAndTearsDown) {
  World w(NewVolumeBackup());
  const BackupDecideOptions o = Budget(seconds(30));
  w.unreachable_error_["c"] = "probe: timed out";  // partitioned before its member exists
  RunToExecute(w, o);
  w.Condition("a", "VolumeBackupSnapshotsCreated");
  w.Condition("b", "VolumeBackupSnapshotsCreated");
  w.now_ += seconds(29);
  BackupDecision d = w.Step(-1, o);
  EXPECT_EQ(w.phase(), "Running");
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_LE(*d.requeue_after, seconds(1)) << "looks again when the budget runs out";
  w.now_ += seconds(1);
  d = w.Step(-1, o);
  ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
  EXPECT_EQ(api::ConditionReason(w.status(), "Failed"), "PauseBudgetExceeded");
  const std::string message = api::ConditionMessage(w.status(), "Failed");
  EXPECT_NE(message.find("cluster c (unreachable"), std::string::npos) << message;
  EXPECT_EQ(message.find("cluster b"), std::string::npos) << message;
  EXPECT_NE(message.find("30s"), std::string::npos) << message;
  EXPECT_TRUE(d.pause_budget_exceeded);
  EXPECT_EQ(d.finished_phase, "Failed");
  EXPECT_NE(std::find(w.events_.begin(), w.events_.end(), "PauseBudgetExceeded"), w.events_.end());
  // Torn down at once: GC resumes through the initialize member.
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
  EXPECT_EQ(api::MemberFederalPhase(w.member("b")), "teardown");
  // While c stays unreachable the phase stays Failed (DataPlaneUnreachable is not a phase).
  w.Step(-1, o);
  EXPECT_EQ(w.phase(), "Failed");
  EXPECT_TRUE(api::IsConditionTrue(w.status(), "DataPlaneUnreachable"));
  // The partition heals: nothing is created in c for a failed backup; the members end.
  w.unreachable_error_.erase("c");
  w.DataPlaneTeardown();
  d = w.Step(-1, o);
  EXPECT_FALSE(w.members_.count("c"));
  EXPECT_FALSE(d.pause_budget_exceeded) << "counted once";
  EXPECT_EQ(w.phase(), "Failed");
  EXPECT_TRUE(w.deletes_.empty()) << "members with snapshots are torn down, not deleted";
}

TEST(BackupDecideTest, PauseBudgetStopsMembersStillWithoutSnapshotsAfterItFails) {
  World w(NewVolumeBackup());
  const BackupDecideOptions o = Budget(seconds(30));
  RunToExecute(w, o);
  w.Condition("c", "VolumeBackupSnapshotsCreated");  // a and b hang in execute
  w.now_ += seconds(31);
  w.Step(-1, o);
  ASSERT_EQ(w.phase(), "Failed");
  const std::string message = api::ConditionMessage(w.status(), "Failed");
  EXPECT_NE(message.find("cluster a (member in phase"), std::string::npos) << message;
  EXPECT_NE(message.find("cluster b (member in phase"), std::string::npos) << message;
  // b still executes without snapshots: deleted (foreground) at once, before GC resumes, so it
  // cannot snapshot with GC running; c created its snapshots: torn down, kept.
  EXPECT_EQ(w.deletes_, (std::vector<std::string>{"b"}));
  EXPECT_EQ(api::MemberFederalPhase(w.member("c")), "teardown");
  EXPECT_FALSE(api::MemberResumeGcSchedule(w.member("a"))) << "b is still being stopped";
  w.Step(-1, o);
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a"))) << "b is gone";
  // Still running without snapshots after teardown, past the budget: deleted (foreground) at
  // once, which releases GC in a (its init job goes with it).
  BackupDecision d = w.Decide(o);
  std::vector<std::string> foreground;
  for (const auto& a : d.actions) {
    if (a.kind == Kind::kDeleteMember && a.propagation_policy == "Foreground") {
      foreground.push_back(a.cluster);
    }
  }
  EXPECT_EQ(foreground, (std::vector<std::string>{"a"}));
  w.Step(-1, o);
  EXPECT_FALSE(w.members_.count("a"));
  EXPECT_TRUE(w.members_.count("c"));
}

TEST(BackupDecideTest, PauseBudgetAnnotationOverridesTheFlagAndABadOneIsInvalid) {
  Json vb = NewVolumeBackup();
  vb["metadata"]["annotations"] = {{std::string(api::kGcPauseBudgetAnnotation), "3s"}};
  World w(vb);
  const BackupDecideOptions o = Budget(std::chrono::minutes(5));
  RunToExecute(w, o);
  w.now_ += seconds(2);
  w.Step(-1, o);
  EXPECT_EQ(w.phase(), "Running");
  w.now_ += seconds(1);
  w.Step(-1, o);
  EXPECT_EQ(w.phase(), "Failed");
  EXPECT_EQ(api::ConditionReason(w.status(), "Failed"), "PauseBudgetExceeded");
  EXPECT_NE(api::ConditionMessage(w.status(), "Failed").find("budget 3s"), std::string::npos);

  for (Json bad : {Json("soon"), Json("0s"), Json("-1s"), Json("25h"), Json(15), Json("")}) {
    Json invalid = NewVolumeBackup();
    invalid["metadata"]["annotations"] = {{std::string(api::kGcPauseBudgetAnnotation), bad}};
    World wi(invalid);
    wi.Step();
    EXPECT_EQ(wi.phase(), "Invalid") << bad;
    EXPECT_EQ(api::ConditionReason(wi.status(), "Invalid"), "InvalidGcPauseBudget") << bad;
    EXPECT_NE(api::ConditionMessage(wi.status(), "Invalid").find("gc-pause-budget"),
              std::string::npos);
    EXPECT_TRUE(wi.members_.empty()) << bad;
  }
}

TEST(BackupDecideTest, NoBudgetOnceEverySnapshotIsCreated) {
  World w(NewVolumeBackup());
  const BackupDecideOptions o = Budget(seconds(5));
  RunToExecute(w, o);
  for (const char* c : {"a", "b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
  w.Step(-1, o);                       // resume
  w.now_ += std::chrono::minutes(10);  // slow to report GC resumed: the budget is not the bound
  w.Step(-1, o);
  EXPECT_EQ(w.phase(), "Running") << DumpJson(w.status());
  // SnapshotsCreated as upstream sets it: once the initialize member says GC resumed (#14).
  w.Condition("a", "VolumeBackupInitializeComplete");
  w.Step(-1, o);
  EXPECT_EQ(w.phase(), "SnapshotsCreated") << DumpJson(w.status());
}

// Issue 18, findings 2 and 3: after a failure a member still executing without snapshots is
// deleted (foreground) at once, and the initialize member's teardown, which resumes GC, waits
// until it is gone, so that it takes none after GC resumes (chaos seeds 4029, 42013, 44085,
// 44133); the initialize member is deleted when teardown has not released GC within the grace.
TEST(BackupDecideTest, FailureStopsMembersWithoutSnapshotsBeforeResumingGc) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  w.Condition("c", "VolumeBackupFailed", "BackupDataToRemoteFailed", "s3 down");
  w.Step();
  EXPECT_EQ(w.deletes_, (std::vector<std::string>{"b"})) << "no grace for an execute member";
  EXPECT_EQ(api::MemberFederalPhase(w.member("c")), "teardown");
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "execute") << "b is still being stopped";
  w.Step();
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
  w.now_ += seconds(9);
  BackupDecision d = w.Step();
  EXPECT_EQ(w.deletes_, (std::vector<std::string>{"b"}))
      << "within the grace, teardown may still end the initialize member";
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_LE(*d.requeue_after, seconds(1));
  w.now_ += seconds(1);
  d = w.Step();
  EXPECT_EQ(w.deletes_, (std::vector<std::string>{"b", "a"}));
  for (const auto& a : d.actions) {
    if (a.kind == Kind::kDeleteMember) {
      EXPECT_EQ(a.propagation_policy, "Foreground");
    }
  }
  w.Condition("c", "Failed");
  w.Step();
  ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
  EXPECT_EQ(api::ConditionReason(w.status(), "Failed"), "VolumeBackupMemberFailed");
  EXPECT_NE(api::ConditionMessage(w.status(), "Failed").find("cluster c"), std::string::npos);
}

// A member being stopped lingers (its foreground deletion waits on its Jobs, or its data plane
// is slow): GC resumes anyway once the grace is over, so a stuck member cannot hold the pause.
TEST(BackupDecideTest, FailureResumesGcAfterTheGraceEvenIfAStoppedMemberLingers) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  const Json b = w.member("b");
  w.Condition("c", "VolumeBackupFailed", "BackupDataToRemoteFailed", "s3 down");
  w.Step();
  ASSERT_EQ(w.deletes_, (std::vector<std::string>{"b"}));
  // b's foreground deletion does not finish (its data plane is slow to collect the job).
  w.members_["b"] = b;
  w.members_["b"]["metadata"]["deletionTimestamp"] = FormatRfc3339(w.now_);
  w.now_ += seconds(5);
  BackupDecision d = w.Step();
  EXPECT_NE(api::MemberFederalPhase(w.member("a")), "teardown") << "within the grace";
  EXPECT_EQ(w.deletes_.size(), 1u) << "b is not deleted twice";
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_LE(*d.requeue_after, seconds(5));
  w.now_ += seconds(5);
  w.Step();
  EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
  EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a"))) << "the grace is over";
}

// Issue 18, finding 1: a member that vanishes while the backup runs (its data plane's API server
// restarted empty, or someone deleted it) fails the backup naming its cluster, through the
// normal failure path: members without snapshots are stopped, then teardown (resumeGcSchedule
// to the initialize member, which releases the pause), never a second member of that name.
TEST(BackupDecideTest, AVanishedMemberFailsTheBackupNamingItsCluster) {
  struct Row {
    const char* name;
    std::string vanishes;
  };
  const Row rows[] = {{"a member in execute", "b"},
                      {"the initialize member holding the pause", "a"}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    World w(NewVolumeBackup());
    RunToExecute(w, {});
    w.Condition("b", "Scheduled");
    w.Condition("c", "Scheduled");
    w.Step();
    w.members_.erase(row.vanishes);
    w.Step();
    for (const char* c : {"b", "c"}) {
      if (c == row.vanishes) continue;
      EXPECT_FALSE(w.members_.count(c)) << c << " had no snapshots: stopped";
    }
    if (row.vanishes != "a") {
      w.Step();
      EXPECT_EQ(api::MemberFederalPhase(w.member("a")), "teardown");
      EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a")));
    }
    bool marked = false;
    for (const Json& e : w.status()["backups"]) {
      if (JsonStringAt(e, {"k8sClusterName"}) != row.vanishes) continue;
      marked = JsonStringAt(e, {"reason"}) == kReasonMemberVanished;
    }
    EXPECT_TRUE(marked) << DumpJson(w.status());
    for (int i = 0; i < 3 && w.phase() != "Failed"; ++i) {
      w.DataPlaneTeardown();
      w.Step();
    }
    ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
    const std::string message = api::ConditionMessage(w.status(), "Failed");
    EXPECT_NE(message.find("fed-vb1 in cluster " + row.vanishes + ": vanished"), std::string::npos)
        << message;
    EXPECT_EQ(message.find("did not complete"), std::string::npos) << message;
    EXPECT_EQ(w.creates_[row.vanishes], 1) << "never created again";
  }
}

// Chaos seed 60184: the initialize member vanished (its data plane restarted empty) before the
// status had mirrored its phase (member-mirror writes wait in a batch window), while the other
// members had taken their snapshots under its pause. It must not be created again, which would
// pause GC a second time and complete a backup whose snapshots span two pause windows: the
// other members' existence says it existed, so the backup fails naming it.
TEST(BackupDecideTest, AnInitializeMemberGoneBeforeItsPhaseWasMirroredIsNeverCreatedAgain) {
  World w(NewVolumeBackup());
  RunToExecute(w, {});
  for (const char* c : {"b", "c"}) w.Condition(c, "VolumeBackupSnapshotsCreated");
  for (Json& entry : w.vb_["status"]["backups"]) entry["phase"] = "";  // never mirrored
  w.members_.erase("a");
  for (int i = 0; i < 4 && w.phase() != "Failed"; ++i) {
    w.Step();
    w.DataPlaneTeardown();
  }
  EXPECT_EQ(w.creates_["a"], 1) << "never created again";
  EXPECT_EQ(w.init_creates_, 1);
  ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
  const std::string message = api::ConditionMessage(w.status(), "Failed");
  EXPECT_NE(message.find("fed-vb1 in cluster a: vanished"), std::string::npos) << message;
}

// The pause went with a vanished initialize member: members still executing are stopped in the
// pass that fails the backup, so none snapshots with GC running (chaos seed 1229).
TEST(BackupDecideTest, AVanishedInitializeMemberStopsTheOthersWithoutTheGrace) {
  World w(NewVolumeBackup());
  RunToExecute(w, {});
  w.Step();
  w.members_.erase("a");
  BackupDecision d = w.Step();
  std::vector<std::string> foreground;
  for (const auto& a : d.actions) {
    if (a.kind == Kind::kDeleteMember && a.propagation_policy == "Foreground") {
      foreground.push_back(a.cluster);
    }
  }
  EXPECT_EQ(foreground, (std::vector<std::string>{"b", "c"})) << "no 10 s grace";
}

// The members the manager deletes itself after a failure (StopMember) are not called vanished.
TEST(BackupDecideTest, MembersStoppedAfterAFailureAreNotCalledVanished) {
  World w(NewVolumeBackup());
  RunToExecute(w, {});
  w.Condition("c", "VolumeBackupFailed", "BackupDataToRemoteFailed", "s3 down");
  w.Step();  // b stopped
  w.Step();  // teardown to a
  w.now_ += seconds(10);
  w.Step();  // a stopped
  ASSERT_EQ(w.deletes_, (std::vector<std::string>{"b", "a"}));
  w.Condition("c", "Failed");
  w.Step();
  ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
  const std::string message = api::ConditionMessage(w.status(), "Failed");
  EXPECT_EQ(message.find("vanished"), std::string::npos) << message;
  EXPECT_NE(message.find("1 of 3 members failed"), std::string::npos) << message;
}

// Upstream's CRDs prune status.steps, so nothing persisted says when teardown began: the
// controller's memory of it times the stop grace, and a stopped member's status entry (reason
// MemberStopped) says, even to a manager restarted since, that it was not lost but deleted.
TEST(BackupDecideTest, WithoutStepsTheStopGraceRunsAndStoppedMembersAreNotCalledVanished) {
  for (const bool restarted : {false, true}) {
    SCOPED_TRACE(restarted ? "manager restarted after the failure" : "same manager");
    World w(NewVolumeBackup());
    RunToExecute(w);
    const Json b = w.member("b");
    w.Condition("c", "VolumeBackupFailed", "BackupDataToRemoteFailed", "s3 down");
    StepWithoutSteps(w);
    ASSERT_EQ(w.deletes_, (std::vector<std::string>{"b"}));
    EXPECT_EQ(w.status()["backups"][1]["reason"], kReasonMemberStopped) << DumpJson(w.status());
    if (restarted) w.teardown_seen_.reset();
    // b's foreground deletion lingers.
    w.members_["b"] = b;
    w.members_["b"]["metadata"]["deletionTimestamp"] = FormatRfc3339(w.now_);
    w.now_ += seconds(5);
    StepWithoutSteps(w);
    EXPECT_EQ(w.status()["backups"][1]["reason"], kReasonMemberStopped);
    EXPECT_NE(api::MemberFederalPhase(w.member("a")), "teardown") << "within the grace";
    w.now_ += seconds(5);
    StepWithoutSteps(w);
    if (restarted) {
      // The grace started again with this manager: it has not run out yet.
      EXPECT_NE(api::MemberFederalPhase(w.member("a")), "teardown");
      w.now_ += seconds(10);
      StepWithoutSteps(w);
    }
    EXPECT_TRUE(api::MemberResumeGcSchedule(w.member("a"))) << "the grace is over";
    w.members_.erase("b");
    w.Condition("c", "Failed");
    w.Condition("a", "VolumeBackupComplete");
    w.Condition("a", "Complete");
    for (int i = 0; i < 3 && w.phase() != "Failed"; ++i) StepWithoutSteps(w);
    ASSERT_EQ(w.phase(), "Failed") << DumpJson(w.status());
    const std::string message = api::ConditionMessage(w.status(), "Failed");
    EXPECT_EQ(message.find("vanished"), std::string::npos) << message;
    EXPECT_NE(message.find("1 of 3 members failed"), std::string::npos) << message;
    EXPECT_EQ(w.status()["backups"][1]["reason"], kReasonMemberStopped);
  }
}

// Issue 18, finding 8: every member completed before the manager saw them all at
// SnapshotsCreated (their data plane did not answer meanwhile): Complete still records the
// SnapshotsCreated condition and closes every step.
TEST(BackupDecideTest, CompleteAfterMissedSnapshotsCreatedStillRecordsItAndClosesSteps) {
  World w(NewVolumeBackup());
  RunToExecute(w);
  for (const char* c : {"a", "b", "c"}) {
    w.Condition(c, "VolumeBackupSnapshotsCreated");
    w.SetStatusField(c, "commitTs", "500");
    w.Condition(c, "VolumeBackupComplete");
  }
  for (int i = 0; i < 4 && w.phase() != "Complete"; ++i) {
    w.Step();
    w.DataPlaneTeardown();
  }
  ASSERT_EQ(w.phase(), "Complete") << DumpJson(w.status());
  EXPECT_TRUE(api::IsConditionTrue(w.status(), "SnapshotsCreated")) << DumpJson(w.status());
  for (const Json& step : w.status()["steps"]) {
    EXPECT_TRUE(step.contains("timeCompleted")) << DumpJson(step);
  }
}

// Members of a VolumeBackup that is gone: each is deleted in the foreground, one without
// snapshots under cleanPolicy Delete gets OnFailure first, and one already being deleted is
// left alone.
TEST(BackupDecideTest, OrphanedMembersAreDeletedAndStoppedWithoutALostClean) {
  auto member = [](std::string clean_policy, bool snapshots, bool deleting) {
    Json m = {{"metadata", {{"name", "fed-vb1"}, {"namespace", "tidb"}, {"resourceVersion", "7"}}},
              {"spec", {{"cleanPolicy", clean_policy}, {"backupMode", "volume-snapshot"}}}};
    if (snapshots) {
      m["status"]["conditions"] =
          Json::array({{{"type", "VolumeBackupSnapshotsCreated"}, {"status", "True"}}});
    }
    if (deleting) m["metadata"]["deletionTimestamp"] = "2026-12-06T12:00:00Z";
    return std::make_shared<Json>(std::move(m));
  };
  struct Case {
    std::string what;
    std::shared_ptr<Json> member;
    std::vector<std::string> actions;  // kind:cluster
  };
  const std::vector<Case> cases = {
      {"Delete without snapshots", member("Delete", false, false), {"patch:a", "delete:a"}},
      {"Delete with snapshots: its clean deletes them",
       member("Delete", true, false),
       {"delete:a"}},
      {"Retain", member("Retain", false, false), {"delete:a"}},
      {"OnFailure", member("OnFailure", false, false), {"delete:a"}},
      {"already being deleted", member("Delete", false, true), {}},
  };
  for (const Case& c : cases) {
    std::vector<BackupAction> actions = DecideOrphanedMembers({{"a", c.member}});
    std::vector<std::string> got;
    for (const BackupAction& a : actions) {
      got.push_back(std::string(a.kind == Kind::kPatchMember ? "patch" : "delete") + ":" +
                    a.cluster);
      EXPECT_EQ(a.ns, "tidb") << c.what;
      EXPECT_EQ(a.name, "fed-vb1") << c.what;
      if (a.kind == Kind::kDeleteMember) {
        EXPECT_EQ(a.propagation_policy, "Foreground") << c.what;
      } else {
        ASSERT_EQ(a.kind, Kind::kPatchMember) << c.what;
        EXPECT_EQ(JsonStringAt(*a.body, {"spec", "cleanPolicy"}), "OnFailure") << c.what;
        EXPECT_EQ(JsonStringAt(*a.body, {"metadata", "resourceVersion"}), "7") << c.what;
      }
    }
    EXPECT_EQ(got, c.actions) << c.what;
  }
}

}  // namespace
}  // namespace brfed::federation
