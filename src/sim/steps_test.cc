// Table-style tests of the simulated operator: every phase and failure path of the contract,
// driven through the pure step functions on simulated time.
#include "sim/steps.h"

#include <gtest/gtest.h>

#include "sim/audit.h"
#include "sim/testing/sim_world_test_util.h"

namespace brfed::sim {
namespace {

using testing::BackupSpec;
using testing::RestoreSpec;
using testing::World;
using V = std::vector<std::string>;

// Runs a two-cluster federated backup the way the federation drives it, up to teardown.
struct FedBackup {
  World w;
  std::string init, exec;
  explicit FedBackup(Json extra = Json::object()) {
    Json s1 = BackupSpec("initialize", "p-c1");
    s1.update(extra);
    init = w.AddBackup("c1", s1);
  }
  bool Initialize() {
    return w.RunUntil([&] { return w.True(init, "VolumeBackupInitialized"); });
  }
  void Execute(Json extra = Json::object()) {
    w.Obj(init)["spec"]["federalVolumeBackupPhase"] = "execute";
    Json s2 = BackupSpec("execute", "p-c2");
    s2.update(extra);
    exec = w.AddBackup("c2", s2);
  }
  bool SnapshotsCreated() {
    return w.RunUntil([&] {
      return w.True(init, "VolumeBackupSnapshotsCreated") &&
             w.True(exec, "VolumeBackupSnapshotsCreated");
    });
  }
  void Teardown() {
    w.Obj(init)["spec"]["federalVolumeBackupPhase"] = "teardown";
    w.Obj(init)["spec"]["resumeGcSchedule"] = true;
    w.Obj(exec)["spec"]["federalVolumeBackupPhase"] = "teardown";
  }
  bool Terminal() {
    auto term = [&](const std::string& id) {
      return w.True(id, "Complete") || w.True(id, "Failed") || w.True(id, "Invalid");
    };
    return w.RunUntil([&] { return term(init) && term(exec); });
  }
};

TEST(BackupSteps, MembersThatMayEndAPauseAreTheExecuteAndTeardownOnes) {
  const struct {
    Json spec;
    bool may_end_pause;
  } rows[] = {
      {{{"federalVolumeBackupPhase", "initialize"}}, false},
      {{{"federalVolumeBackupPhase", "execute"}}, true},
      {{{"federalVolumeBackupPhase", "execute"}, {"resumeGcSchedule", true}}, true},
      {{{"federalVolumeBackupPhase", "teardown"}}, true},
      {{{"federalVolumeBackupPhase", "unknown"}}, false},
      {Json::object(), false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(MayEndPause(Json{{"spec", row.spec}}), row.may_end_pause) << row.spec.dump();
  }
  EXPECT_FALSE(MayEndPause(Json::object()));
}

TEST(BackupSteps, SuccessPathConditionSequencesAndStatus) {
  FedBackup f;
  ASSERT_TRUE(f.Initialize());
  EXPECT_TRUE(f.w.model().PdPaused());
  f.Execute();
  ASSERT_TRUE(f.SnapshotsCreated());
  f.w.Obj(f.init)["spec"]["resumeGcSchedule"] = true;
  ASSERT_TRUE(f.w.RunUntil([&] {
    return f.w.True(f.init, "VolumeBackupInitializeComplete") &&
           f.w.Obj(f.init)["status"].contains("backupSize") &&
           f.w.Obj(f.exec)["status"].contains("backupSize");
  }));
  EXPECT_FALSE(f.w.model().PdPaused());
  f.w.Obj(f.init)["spec"]["federalVolumeBackupPhase"] = "teardown";
  f.w.Obj(f.exec)["spec"]["federalVolumeBackupPhase"] = "teardown";
  ASSERT_TRUE(f.Terminal());
  EXPECT_EQ(f.w.Phases(f.init),
            (V{"Scheduled", "Running", "VolumeBackupInitialized", "Scheduled", "Prepare", "Running",
               "VolumeBackupSnapshotsCreated", "VolumeBackupInitializeComplete",
               "VolumeBackupComplete", "Complete"}));
  EXPECT_EQ(f.w.Phases(f.exec),
            (V{"Scheduled", "Prepare", "Running", "VolumeBackupSnapshotsCreated",
               "VolumeBackupComplete", "Complete"}));
  const Json& st = f.w.Obj(f.exec)["status"];
  EXPECT_EQ(st["backupPath"], "s3://bk/p-c2");
  EXPECT_EQ(st["backupSize"], int64_t{4} * (int64_t{100} << 30));
  EXPECT_EQ(st["backupSizeReadable"], "430 GB");
  EXPECT_EQ(st["incrementalBackupSize"], st["backupSize"]);
  EXPECT_FALSE(st["commitTs"].get<std::string>().empty());
  EXPECT_EQ(st["progresses"][0]["progress"], 100);
  EXPECT_TRUE(st.contains("timeTaken"));
  EXPECT_TRUE(CheckAuditLog(f.w.AuditText()).empty()) << f.w.AuditText();
}

TEST(BackupSteps, CommitTsIsATsoTakenBeforeSnapshotsComplete) {
  FedBackup f;
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(f.SnapshotsCreated());
  Time created = f.w.now();
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "VolumeBackupComplete"); }));
  uint64_t ts = std::stoull(f.w.Obj(f.exec)["status"]["commitTs"].get<std::string>());
  EXPECT_LE(ts, Model::Tso(created));
  EXPECT_GT(ts, uint64_t{400000000000000000});
}

TEST(BackupSteps, CleanPolicyDeleteAddsFinalizerFirst) {
  World w;
  Json s = BackupSpec("initialize");
  s["cleanPolicy"] = "Delete";
  auto id = w.AddBackup("c1", s);
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "Scheduled"); }));
  EXPECT_EQ(w.Obj(id)["metadata"]["finalizers"], Json::array({kBackupProtectionFinalizer}));
}

TEST(BackupSteps, InitializeBrFailure) {
  World w;
  w.model().AddFault(*ParseFault("init-fail@c1"));
  auto id = w.AddBackup("c1", BackupSpec("initialize"));
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitializeFailed"); }));
  EXPECT_EQ(FindCondition(w.Obj(id), "VolumeBackupInitializeFailed")->at("reason"),
            "InitializeVolumeBackupFailed");
  EXPECT_FALSE(w.model().PdPaused());
  w.Obj(id)["spec"]["federalVolumeBackupPhase"] = "teardown";
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "Failed"); }));
  EXPECT_EQ(w.Phases(id), (V{"Scheduled", "Running", "VolumeBackupInitializeFailed", "Failed"}));
}

TEST(BackupSteps, InitJobDeletedExternally) {
  World w;
  w.model().AddFault(*ParseFault("init-job-deleted"));
  auto id = w.AddBackup("c1", BackupSpec("initialize"));
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitializeFailed"); }));
  EXPECT_EQ(FindCondition(w.Obj(id), "VolumeBackupInitializeFailed")->at("reason"),
            "InitializeJobDeleted");
  EXPECT_FALSE(w.model().PdPaused());
  EXPECT_TRUE(CheckAuditLog(w.AuditText()).empty());
}

TEST(BackupSteps, InitDeadlineExceededFromSpecSeconds) {
  World w;
  Json s = BackupSpec("initialize");
  s["volumeBackupInitJobMaxActiveSeconds"] = 20;
  auto id = w.AddBackup("c1", s);
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitializeFailed"); }));
  EXPECT_EQ(FindCondition(w.Obj(id), "VolumeBackupInitializeFailed")->at("reason"),
            "InitializeJobCompletedOrFailed");
  EXPECT_EQ(w.Phases(id),
            (V{"Scheduled", "Running", "VolumeBackupInitialized", "VolumeBackupInitializeFailed"}));
  EXPECT_FALSE(w.model().PdPaused());
}

TEST(BackupSteps, DeadlineIsNoticedAtResyncWhenImitated) {
  World w(1, Timing::Scaled(1, false, true));
  w.model().AddFault(*ParseFault("init-deadline"));
  auto id = w.AddBackup("c1", BackupSpec("initialize"));
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitialized"); }));
  Time initialized = w.now();
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitializeFailed"); }));
  EXPECT_GE(w.now() - initialized, std::chrono::seconds(30));
}

TEST(BackupSteps, SnapshotCreationFails) {
  FedBackup f;
  f.w.model().AddFault(*ParseFault("snapshot-fail@c2"));
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "VolumeBackupFailed"); }));
  EXPECT_EQ(FindCondition(f.w.Obj(f.exec), "VolumeBackupFailed")->at("reason"),
            "BackupDataToRemoteFailed");
  EXPECT_FALSE(f.w.True(f.exec, "VolumeBackupSnapshotsCreated"));
  f.Teardown();
  ASSERT_TRUE(f.Terminal());
  EXPECT_TRUE(f.w.True(f.exec, "Failed"));
  EXPECT_TRUE(f.w.True(f.init, "Complete"));  // its own steps succeeded; the init job was live
  EXPECT_FALSE(f.w.model().PdPaused());
  EXPECT_EQ(f.w.Phases(f.exec),
            (V{"Scheduled", "Prepare", "Running", "VolumeBackupFailed", "Failed"}));
}

TEST(BackupSteps, ExecutePodDiesGivesAlreadyFailed) {
  FedBackup f;
  f.w.model().AddFault(*ParseFault("execute-pod-dies@c2/fed-vb"));
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "VolumeBackupFailed"); }));
  const Json* c = FindCondition(f.w.Obj(f.exec), "VolumeBackupFailed");
  EXPECT_EQ(c->at("reason"), "AlreadyFailed");
  EXPECT_EQ(c->at("message"),
            "reason Job backup-fed-vb has failed, original reason BackoffLimitExceeded");
}

TEST(BackupSteps, InitMemberVolumeFailureDeletesInitJob) {
  FedBackup f;
  f.w.model().AddFault(*ParseFault("snapshot-fail@c1"));
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.init, "VolumeBackupFailed"); }));
  ASSERT_TRUE(f.w.RunUntil([&] { return !f.w.model().PdPaused(); }));
  f.Teardown();
  ASSERT_TRUE(f.Terminal());
  EXPECT_TRUE(f.w.True(f.init, "Failed"));
}

TEST(BackupSteps, TeardownWaitsForExecuteJobAndKeepsGcPaused) {
  FedBackup f;
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "Running"); }));
  f.Teardown();  // failure path: teardown before snapshots exist
  // No SnapshotsCreated probe in teardown (b.1 step 3), but the execute jobs keep running.
  ASSERT_TRUE(f.w.RunUntil([&] { return !f.w.model().Dump()["snapshots"].empty(); }));
  EXPECT_TRUE(f.w.model().PdPaused());
  EXPECT_FALSE(f.w.True(f.init, "Complete"));
  ASSERT_TRUE(f.Terminal());
  EXPECT_FALSE(f.w.model().PdPaused());
  EXPECT_TRUE(CheckAuditLog(f.w.AuditText()).empty()) << f.w.AuditText();
}

// An execute job told to tear down before it wrote its backupmeta finishes on its own: BR waits
// for its snapshots without the snapshots-created probe (which runs only in phase execute), so
// the initialize member releases the pause when they complete, long before its 600 s deadline.
TEST(BackupSteps, TeardownBeforeTheBackupmetaStillFinishesAtTheSnapshotsCompletion) {
  FedBackup f;
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(
      f.w.RunUntil([&] { return f.w.True(f.init, "Prepare") && f.w.True(f.exec, "Running"); }));
  ASSERT_TRUE(f.w.model().Dump()["snapshots"].empty());
  f.Teardown();
  const Time torn_down = f.w.now();
  ASSERT_TRUE(f.w.RunUntil([&] { return !f.w.model().PdPaused(); }, std::chrono::seconds(300)));
  EXPECT_LT(f.w.now() - torn_down, std::chrono::seconds(300));
  EXPECT_FALSE(f.w.model().Dump()["snapshots"].empty()) << f.w.AuditText();
  ASSERT_TRUE(f.Terminal());
  EXPECT_TRUE(f.w.True(f.init, "Complete")) << f.w.AuditText();
}

// Issue 18, finding 2: deleting the initialize member in the foreground releases the pause at
// once, although its execute job would keep it for as long as it runs (above), and a member
// kept by the cleaner's finalizer still releases before its clean job runs.
TEST(BackupSteps, ForegroundDeletionOfTheInitializeMemberReleasesThePauseAtOnce) {
  for (const char* policy : {"Retain", "Delete"}) {
    FedBackup f(Json{{"cleanPolicy", policy}});
    ASSERT_TRUE(f.Initialize()) << policy;
    f.Execute();
    ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "Running"); })) << policy;
    f.Teardown();
    ASSERT_TRUE(f.w.model().PdPaused()) << policy;
    Json& init = f.w.Obj(f.init);
    init["metadata"]["finalizers"].push_back(kForegroundDeletionFinalizer);
    f.w.Delete(f.init);
    ASSERT_TRUE(f.w.RunUntil([&] { return !f.w.model().PdPaused(); })) << policy;
    EXPECT_NE(f.w.AuditText().find("owner deleted"), std::string::npos) << f.w.AuditText();
  }
}

// Contract b.7: an execute member deleted before its backupmeta exists fails its clean for
// ever under cleanPolicy Delete (a missing backupmeta is an error unless the member Failed);
// under OnFailure it goes without a clean; switched to Retain after its finalizer was added,
// it keeps that finalizer for ever (upstream removes it only from a clean candidate).
TEST(BackupSteps, AMemberDeletedBeforeItsBackupmetaDependsOnItsCleanPolicy) {
  struct Case {
    const char* policy_at_deletion;
    bool gone;
    bool clean_failed;
  };
  for (const Case& k : {Case{"Delete", false, true}, Case{"OnFailure", true, false},
                        Case{"Retain", false, false}}) {
    SCOPED_TRACE(k.policy_at_deletion);
    FedBackup f(Json{{"cleanPolicy", "Delete"}});
    ASSERT_TRUE(f.Initialize());
    f.Execute(Json{{"cleanPolicy", "Delete"}});
    ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "Prepare"); }));
    ASSERT_TRUE(f.w.Obj(f.exec)["metadata"].contains("finalizers"));
    ASSERT_TRUE(f.w.model().Dump()["snapshots"].empty());
    f.w.Obj(f.exec)["spec"]["cleanPolicy"] = k.policy_at_deletion;
    f.w.Delete(f.exec);
    f.w.RunUntil([&] { return !f.w.Exists(f.exec) || f.w.True(f.exec, "CleanFailed"); },
                 std::chrono::seconds(120));
    EXPECT_EQ(!f.w.Exists(f.exec), k.gone);
    EXPECT_EQ(f.w.Exists(f.exec) && f.w.True(f.exec, "CleanFailed"), k.clean_failed);
  }
}

// A member deleted in the background whose clean fails stays (CleanFailed is final), and so does
// its init Job's pod: the Job controller still ends it at its activeDeadlineSeconds, which
// releases the pause (the chaos runs with a tight budget once saw it held for minutes).
TEST(BackupSteps, AnInitJobOfAMemberBeingDeletedStillEndsAtItsDeadline) {
  FedBackup f(Json{{"cleanPolicy", "Delete"}, {"volumeBackupInitJobMaxActiveSeconds", 120}});
  f.w.model().AddFault(*ParseFault("clean-fail@c1"));
  ASSERT_TRUE(f.Initialize());
  f.Execute();
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.exec, "Running"); }));
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.Obj(f.init)["metadata"].contains("finalizers"); }));
  const Time deleted = f.w.now();
  f.w.Delete(f.init);
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.init, "CleanFailed"); }));
  EXPECT_TRUE(f.w.model().PdPaused()) << "the init Job runs on behind the failed clean";
  ASSERT_TRUE(f.w.RunUntil([&] { return !f.w.model().PdPaused(); }));
  EXPECT_LE(f.w.now() - deleted, std::chrono::seconds(120));
  EXPECT_NE(f.w.AuditText().find("init job deadline exceeded"), std::string::npos)
      << f.w.AuditText();
}

TEST(BackupSteps, HangAndSlowFaults) {
  World w;
  w.model().AddFault(*ParseFault("hang@c1"));
  auto id = w.AddBackup("c1", BackupSpec("initialize"));
  EXPECT_FALSE(w.RunUntil([&] { return w.True(id, "Running"); }, std::chrono::seconds(600)));
  w.model().RemoveFaults(FaultKind::kHang, "", "");
  w.model().AddFault(*ParseFault("slow@c1,factor=100"));
  Time t0 = w.now();
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitialized"); }));
  EXPECT_GE(w.now() - t0, std::chrono::seconds(100));
}

TEST(BackupSteps, InjectedInvalidAndValidationFailures) {
  struct Case {
    const char* name;
    std::function<void(Json& spec, Json& tc)> mutate;
    const char* message_part;
  } cases[] = {
      {"no bucket", [](Json& s, Json&) { s["s3"].erase("bucket"); }, "bucket"},
      {"no s3", [](Json& s, Json&) { s.erase("s3"); }, "StorageProvider"},
      {"acrossK8s false", [](Json&, Json& tc) { tc["spec"]["acrossK8s"] = false; }, "across k8s"},
      {"no stores", [](Json&, Json& tc) { tc["status"]["tikv"]["stores"] = Json::object(); },
       "tikv"},
      {"bad type", [](Json& s, Json&) { s["backupType"] = "raw"; }, "backup type"},
      {"bad endpoint", [](Json& s, Json&) { s["s3"]["endpoint"] = "nohost"; }, "endpoint"},
      {"unknown phase", [](Json& s, Json&) { s["federalVolumeBackupPhase"] = "explode"; },
       "federalVolumeBackupPhase"},
      {"missing phase", [](Json& s, Json&) { s.erase("federalVolumeBackupPhase"); },
       "federalVolumeBackupPhase"},
  };
  for (const Case& c : cases) {
    World w(1);
    Json spec = BackupSpec("initialize");
    c.mutate(spec, w.Tc("c1"));
    auto id = w.AddBackup("c1", spec);
    ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "Invalid"); })) << c.name;
    const Json* cond = FindCondition(w.Obj(id), "Invalid");
    EXPECT_EQ(cond->at("reason"), "InvalidSpec") << c.name;
    EXPECT_NE(cond->at("message").get<std::string>().find(c.message_part), std::string::npos)
        << c.name << ": " << cond->at("message");
    EXPECT_EQ(w.Phases(id), V{"Invalid"}) << c.name;
  }
  World w(1);
  w.model().AddFault(*ParseFault("invalid"));
  auto id = w.AddBackup("c1", BackupSpec("initialize"));
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "Invalid"); }));
}

TEST(BackupSteps, MissingTidbClusterRetriesThenProceeds) {
  World w(1);
  Json tc = w.Tc("c1");
  w.RemoveTc("c1");
  auto id = w.AddBackup("c1", BackupSpec("initialize"));
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "RetryFailed"); }));
  EXPECT_EQ(FindCondition(w.Obj(id), "RetryFailed")->at("reason"),
            "failed to fetch tidbcluster tidb/basic");
  EXPECT_FALSE(w.RunUntil([&] { return w.True(id, "Scheduled"); }, std::chrono::seconds(30)));
}

TEST(BackupSteps, NotVolumeSnapshotModeIsIgnored) {
  World w(1);
  Json spec = BackupSpec("initialize");
  spec["backupMode"] = "snapshot";
  auto id = w.AddBackup("c1", spec);
  EXPECT_FALSE(w.RunUntil([&] { return w.Obj(id).contains("status"); }, std::chrono::seconds(60)));
}

TEST(BackupSteps, ClustermetaAlreadyExistsFails) {
  World w(1);
  auto a = w.AddBackup("c1", BackupSpec("execute", "same"), "a");
  ASSERT_TRUE(w.RunUntil([&] { return w.True(a, "Scheduled"); }));
  auto b = w.AddBackup("c1", BackupSpec("execute", "same"), "b");
  ASSERT_TRUE(w.RunUntil([&] { return w.True(b, "Failed"); }));
  EXPECT_EQ(FindCondition(w.Obj(b), "Failed")->at("reason"), "FileExistedInExternalStorage");
}

// Runs a complete backup with the given clean policy and returns the world.
std::unique_ptr<FedBackup> CompletedBackup(const std::string& policy, double ratio = 1) {
  Json extra = {{"cleanPolicy", policy}, {"cleanOption", {{"snapshotsDeleteRatio", ratio}}}};
  auto f = std::make_unique<FedBackup>(extra);
  EXPECT_TRUE(f->Initialize());
  f->Execute(extra);
  EXPECT_TRUE(f->SnapshotsCreated());
  f->w.Obj(f->init)["spec"]["resumeGcSchedule"] = true;
  EXPECT_TRUE(f->w.RunUntil([&] {
    return f->w.Obj(f->init)["status"].contains("backupSize") &&
           f->w.Obj(f->exec)["status"].contains("backupSize");
  }));
  f->Teardown();
  EXPECT_TRUE(f->Terminal());
  return f;
}

TEST(BackupCleanup, DeletePolicyDeletesSnapshotsAtRatioThenRemovesFinalizer) {
  auto f = CompletedBackup("Delete", 2);
  f->w.Delete(f->exec);
  Time t0 = f->w.now();
  ASSERT_TRUE(f->w.RunUntil([&] { return !f->w.Exists(f->exec); }));
  // 4 snapshots at 2/s after the clean job starts.
  EXPECT_GE(f->w.now() - t0, std::chrono::milliseconds(1500));
  Json dump = f->w.model().Dump();
  for (const Json& s : dump["snapshots"]) {
    if (s["owner"].get<std::string>().rfind("c2/", 0) == 0) {
      EXPECT_TRUE(s["deleted"]) << s;
    }
  }
  EXPECT_TRUE(CheckAuditLog(f->w.AuditText()).empty()) << f->w.AuditText();
}

TEST(BackupCleanup, CleanSequenceOnMember) {
  auto f = CompletedBackup("Delete");
  f->w.Delete(f->init);
  ASSERT_TRUE(f->w.RunUntil([&] { return f->w.True(f->init, "Clean"); }));
  auto phases = f->w.Phases(f->init);
  ASSERT_GE(phases.size(), 2u);
  EXPECT_EQ(phases[phases.size() - 2], "Clean");  // Clean False
  EXPECT_EQ(phases.back(), "Clean");
}

TEST(BackupCleanup, RetainVanishesAtOnce) {
  auto f = CompletedBackup("Retain");
  f->w.Delete(f->exec);
  ASSERT_TRUE(f->w.RunUntil([&] { return !f->w.Exists(f->exec); }, std::chrono::seconds(1)));
}

TEST(BackupCleanup, OnFailureOnCompleteBackupRetains) {
  auto f = CompletedBackup("OnFailure");
  f->w.Delete(f->exec);
  ASSERT_TRUE(f->w.RunUntil([&] { return !f->w.Exists(f->exec); }, std::chrono::seconds(1)));
  EXPECT_FALSE(f->w.True(f->exec, "Clean"));
}

TEST(BackupCleanup, CleanFailureIsStickyAndKeepsObject) {
  auto f = CompletedBackup("Delete");
  f->w.model().AddFault(*ParseFault("clean-fail@c2"));
  f->w.Delete(f->exec);
  ASSERT_TRUE(f->w.RunUntil([&] { return f->w.True(f->exec, "CleanFailed"); }));
  EXPECT_EQ(FindCondition(f->w.Obj(f->exec), "CleanFailed")->at("reason"), "CleanBackupDataFailed");
  EXPECT_FALSE(f->w.RunUntil([&] { return !f->w.Exists(f->exec); }, std::chrono::seconds(600)));
}

TEST(BackupCleanup, EmptyBackupPathCleansWithoutJob) {
  World w(1);
  Json s = BackupSpec("initialize");
  s["cleanPolicy"] = "Delete";
  auto id = w.AddBackup("c1", s);
  ASSERT_TRUE(w.RunUntil([&] { return w.True(id, "VolumeBackupInitialized"); }));
  w.Delete(id);
  ASSERT_TRUE(w.RunUntil([&] { return !w.Exists(id); }));
  EXPECT_FALSE(w.model().PdPaused());  // the init job is garbage-collected with its owner
}

// ---------------------------------------------------------------------------------------------
// Restore

struct FedRestore {
  std::unique_ptr<FedBackup> backup = CompletedBackup("Retain");
  World& w = backup->w;
  std::string r1, r2;
  explicit FedRestore(Json extra = Json::object()) {
    for (const char* c : {"c1", "c2"}) w.Tc(c)["spec"]["recoveryMode"] = true;
    Json s1 = RestoreSpec("p-c1");
    s1.update(extra);
    Json s2 = RestoreSpec("p-c2");
    s2.update(extra);
    r1 = w.AddRestore("c1", s1);
    r2 = w.AddRestore("c2", s2);
  }
  bool Until(const char* type) {
    return w.RunUntil([&] { return w.True(r1, type) && w.True(r2, type); });
  }
  // The member with the smaller commitTs.
  std::string DataMember() {
    auto ts = [&](const std::string& id) {
      return std::stoull(w.Obj(id)["status"]["commitTs"].get<std::string>());
    };
    return ts(r1) <= ts(r2) ? r1 : r2;
  }
  void Phase(const std::string& id, const char* p) {
    w.Obj(id)["spec"]["federalVolumeRestorePhase"] = p;
  }
};

TEST(RestoreSteps, NoWarmupFullFlow) {
  FedRestore f;
  ASSERT_TRUE(f.Until("TikvComplete"));
  EXPECT_EQ(JsonStringAt(f.w.Tc("c1"), {"metadata", "annotations", kTikvVolumesReadyAnnotation}),
            "tidb/fed-vr");
  std::string data = f.DataMember();
  std::string other = data == f.r1 ? f.r2 : f.r1;
  std::string commit = f.w.Obj(data)["status"]["commitTs"];
  f.Phase(data, "restore-data");
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(data, "DataComplete"); }));
  EXPECT_EQ(f.w.Obj(data)["status"]["commitTs"], commit);
  EXPECT_FALSE(f.w.model().recovering());
  f.Phase(f.r1, "restore-finish");
  f.Phase(f.r2, "restore-finish");
  ASSERT_TRUE(f.Until("Complete"));
  EXPECT_EQ(f.w.Phases(data), (V{"Scheduled", "Running", "VolumeComplete", "TikvComplete",
                                 "DataComplete", "Complete"}));
  EXPECT_EQ(f.w.Phases(other),
            (V{"Scheduled", "Running", "VolumeComplete", "TikvComplete", "Complete"}));
  EXPECT_FALSE(f.w.Tc("c1")["spec"]["recoveryMode"].get<bool>());
  EXPECT_EQ(JsonAt(f.w.Tc("c1"), {"metadata", "annotations", kTikvVolumesReadyAnnotation}),
            nullptr);
  EXPECT_TRUE(f.w.Obj(other)["status"].contains("timeTaken"));
  EXPECT_TRUE(CheckAuditLog(f.w.AuditText()).empty()) << f.w.AuditText();
}

TEST(RestoreSteps, SyncWarmup) {
  FedRestore f(Json{{"warmup", "sync"}, {"warmupImage", "img"}});
  ASSERT_TRUE(f.Until("TikvComplete"));
  EXPECT_EQ(f.w.Phases(f.r1), (V{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted",
                                 "WarmUpComplete", "TikvComplete"}));
}

TEST(RestoreSteps, SyncCheckWalOnlyCompletesWithoutTikv) {
  FedRestore f(
      Json{{"warmup", "sync"}, {"warmupImage", "img"}, {"warmupStrategy", "check-wal-only"}});
  ASSERT_TRUE(f.Until("Complete"));
  EXPECT_EQ(f.w.Phases(f.r1), (V{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted",
                                 "WarmUpComplete", "Complete"}));
  EXPECT_EQ(JsonAt(f.w.Tc("c1"), {"metadata", "annotations", kTikvVolumesReadyAnnotation}),
            nullptr);
}

TEST(RestoreSteps, CheckWalOnlyCorruptionFails) {
  FedRestore f(
      Json{{"warmup", "sync"}, {"warmupImage", "img"}, {"warmupStrategy", "check-wal-only"}});
  f.w.model().AddFault(*ParseFault("warmup-fail@c2"));
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r2, "Failed"); }));
  EXPECT_EQ(FindCondition(f.w.Obj(f.r2), "Failed")->at("reason"), "BackoffLimitExceeded");
}

TEST(RestoreSteps, AsyncWarmupCompletesLate) {
  FedRestore f(Json{{"warmup", "async"}, {"warmupImage", "img"}});
  ASSERT_TRUE(f.Until("TikvComplete"));
  EXPECT_EQ(f.w.Phases(f.r1),
            (V{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted", "TikvComplete"}));
  EXPECT_FALSE(f.w.True(f.r1, "WarmUpComplete"));
  f.Phase(f.r1, "restore-finish");
  f.Phase(f.r2, "restore-finish");
  ASSERT_TRUE(f.Until("WarmUpComplete"));
}

TEST(RestoreSteps, FsrStrategyTakesLonger) {
  FedRestore plain;
  Time t0 = plain.w.now();
  ASSERT_TRUE(plain.Until("VolumeComplete"));
  Duration plain_time = plain.w.now() - t0;
  FedRestore fsr(Json{{"warmup", "sync"}, {"warmupImage", "img"}, {"warmupStrategy", "fsr"}});
  t0 = fsr.w.now();
  ASSERT_TRUE(fsr.Until("VolumeComplete"));
  EXPECT_GT(fsr.w.now() - t0, plain_time);
}

TEST(RestoreSteps, MissingWarmupImageRetries) {
  FedRestore f(Json{{"warmup", "sync"}});
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r1, "RetryFailed"); }));
  EXPECT_EQ(FindCondition(f.w.Obj(f.r1), "RetryFailed")->at("reason"), "NoWarmupImage");
}

TEST(RestoreSteps, RestoreVolumeFailureWithoutRestoremetaRetriesFileNotExists) {
  FedRestore f;
  f.w.model().AddFault(*ParseFault("restore-volume-fail@c1"));
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r1, "RetryFailed"); }));
  EXPECT_EQ(FindCondition(f.w.Obj(f.r1), "Failed")->at("reason"), "RestoreDataFromRemoteFailed");
  EXPECT_EQ(FindCondition(f.w.Obj(f.r1), "RetryFailed")->at("reason"), "FileNotExists");
  EXPECT_EQ(f.w.Phases(f.r1), (V{"Scheduled", "Running", "Failed", "RetryFailed"}));
}

TEST(RestoreSteps, RestoreVolumeFailureAfterRestoremetaCleansVolumes) {
  FedRestore f;
  f.w.model().AddFault(*ParseFault("restore-volume-fail@c1,after-meta"));
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r1, "CleanVolumeComplete"); }));
  EXPECT_EQ(f.w.Phases(f.r1), (V{"Scheduled", "Running", "Failed", "CleanVolumeComplete"}));
  Json dump = f.w.model().Dump();
  for (const Json& v : dump["restoredVolumes"]) {
    EXPECT_NE(v["owner"].get<std::string>().rfind("c1/", 0), 0u) << v;
  }
}

TEST(RestoreSteps, RestoreDataFailure) {
  FedRestore f;
  f.w.model().AddFault(*ParseFault("restore-data-fail"));
  ASSERT_TRUE(f.Until("TikvComplete"));
  std::string data = f.DataMember();
  f.Phase(data, "restore-data");
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(data, "Failed"); }));
  EXPECT_EQ(FindCondition(f.w.Obj(data), "Failed")->at("reason"), "RestoreDataFromRemoteFailed");
}

TEST(RestoreSteps, RestoreFinishFailureRetries) {
  FedRestore f;
  f.w.model().AddFault(*ParseFault("restore-finish-fail@c2"));
  ASSERT_TRUE(f.Until("TikvComplete"));
  std::string data = f.DataMember();
  f.Phase(data, "restore-data");
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(data, "DataComplete"); }));
  f.Phase(f.r1, "restore-finish");
  f.Phase(f.r2, "restore-finish");
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r2, "RetryFailed"); }));
  EXPECT_EQ(FindCondition(f.w.Obj(f.r2), "RetryFailed")->at("reason"), "ClearTCRecoveryMarkFailed");
  EXPECT_FALSE(f.w.RunUntil([&] { return f.w.True(f.r2, "Complete"); }, std::chrono::seconds(60)));
  f.w.model().RemoveFaults(std::nullopt, "", "");
  ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r2, "Complete"); }));
}

TEST(RestoreSteps, TikvNeverUpStaysAtVolumeComplete) {
  FedRestore f;
  f.w.model().AddFault(*ParseFault("tikv-never-up@c1"));
  EXPECT_FALSE(
      f.w.RunUntil([&] { return f.w.True(f.r1, "TikvComplete"); }, std::chrono::seconds(600)));
  EXPECT_EQ(f.w.Obj(f.r1)["status"]["phase"], "VolumeComplete");
}

TEST(RestoreSteps, ValidationFailures) {
  struct Case {
    const char* name;
    std::function<void(Json& spec, Json& tc)> mutate;
    const char* message_part;
  } cases[] = {
      {"recovery mode off", [](Json&, Json& tc) { tc["spec"]["recoveryMode"] = false; },
       "recovery mode is off"},
      {"replicas", [](Json&, Json& tc) { tc["spec"]["tikv"]["replicas"] = 7; }, "replicas"},
      {"no backupmeta", [](Json& s, Json&) { s["s3"]["prefix"] = "nothing-here"; }, "backupmeta"},
      {"acrossK8s", [](Json&, Json& tc) { tc["spec"]["acrossK8s"] = false; }, "across k8s"},
      {"no bucket", [](Json& s, Json&) { s["s3"].erase("bucket"); }, "bucket"},
      {"unknown phase", [](Json& s, Json&) { s["federalVolumeRestorePhase"] = "x"; },
       "federalVolumeRestorePhase"},
      {"unknown warmup", [](Json& s, Json&) { s["warmup"] = "later"; }, "warmup"},
  };
  for (const Case& c : cases) {
    FedRestore f;
    c.mutate(f.w.Obj(f.r1)["spec"], f.w.Tc("c1"));
    ASSERT_TRUE(f.w.RunUntil([&] { return f.w.True(f.r1, "Invalid"); })) << c.name;
    const Json* cond = FindCondition(f.w.Obj(f.r1), "Invalid");
    EXPECT_NE(cond->at("message").get<std::string>().find(c.message_part), std::string::npos)
        << c.name << ": " << cond->at("message");
  }
}

}  // namespace
}  // namespace brfed::sim
