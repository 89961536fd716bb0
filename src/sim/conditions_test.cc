#include "sim/conditions.h"

#include <gtest/gtest.h>

namespace brfed::sim {
namespace {

Time At(int s) { return Time(std::chrono::seconds(1700000000 + s)); }

MemberWrite C(std::string type, std::string status = "True", std::string reason = "") {
  MemberWrite w;
  w.condition = Condition{std::move(type), std::move(status), std::move(reason), ""};
  return w;
}

TEST(BackupConditions, ReassertingAnOlderConditionMovesPhaseBackAndRefreshesTime) {
  Json b = Json::object();
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("Scheduled"), At(0)));
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("VolumeBackupInitialized"), At(1)));
  EXPECT_EQ(b["status"]["phase"], "VolumeBackupInitialized");
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("Scheduled"), At(5)));
  EXPECT_EQ(b["status"]["phase"], "Scheduled");
  ASSERT_EQ(b["status"]["conditions"].size(), 2u);
  EXPECT_EQ(b["status"]["conditions"][0]["lastTransitionTime"], FormatRfc3339(At(5)));
}

TEST(BackupConditions, IdenticalConditionAtSamePhaseKeepsTimeAndIsNoWrite) {
  Json b = Json::object();
  ApplyMemberWrite(MemberKind::kBackup, b, C("Running"), At(0));
  EXPECT_FALSE(ApplyMemberWrite(MemberKind::kBackup, b, C("Running"), At(9)));
  EXPECT_EQ(b["status"]["conditions"][0]["lastTransitionTime"], FormatRfc3339(At(0)));
  // A changed reason is a write but keeps the time when status is unchanged.
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("Running", "True", "X"), At(9)));
  EXPECT_EQ(b["status"]["conditions"][0]["lastTransitionTime"], FormatRfc3339(At(0)));
}

TEST(BackupConditions, CleanFalseSetsPhaseAndRestartNeverDoes) {
  Json b = Json::object();
  ApplyMemberWrite(MemberKind::kBackup, b, C("Complete"), At(0));
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("Clean", "False"), At(1)));
  EXPECT_EQ(b["status"]["phase"], "Clean");
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("Restart"), At(2)));
  EXPECT_EQ(b["status"]["phase"], "Clean");
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, C("Clean"), At(3)));
  EXPECT_EQ(b["status"]["conditions"][1]["status"], "True");
}

TEST(RestoreConditions, IdenticalConditionIsNotPersistedSoPhaseStays) {
  Json r = Json::object();
  ApplyMemberWrite(MemberKind::kRestore, r, C("Running"), At(0));
  ApplyMemberWrite(MemberKind::kRestore, r, C("TikvComplete"), At(1));
  EXPECT_FALSE(ApplyMemberWrite(MemberKind::kRestore, r, C("Running"), At(2)));
  EXPECT_EQ(r["status"]["phase"], "TikvComplete");
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kRestore, r, C("DataComplete"), At(3)));
  EXPECT_EQ(r["status"]["phase"], "DataComplete");
}

TEST(MemberWrites, FieldsOnlyWhenDifferentAndTimeTakenRecomputed) {
  Json b = Json::object();
  MemberWrite w;
  w.status_fields = {{"timeStarted", FormatRfc3339(At(0))},
                     {"timeCompleted", FormatRfc3339(At(723))}};
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, w, At(723)));
  EXPECT_EQ(b["status"]["timeTaken"], "12m3s");
  EXPECT_FALSE(ApplyMemberWrite(MemberKind::kBackup, b, w, At(800)));
}

TEST(MemberWrites, FinalizersAddedOnceAndRemoved) {
  Json b = {{"metadata", {{"finalizers", {"other"}}}}};
  MemberWrite add;
  add.add_finalizer = "f";
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, add, At(0)));
  EXPECT_FALSE(ApplyMemberWrite(MemberKind::kBackup, b, add, At(0)));
  MemberWrite rm;
  rm.remove_finalizer = "f";
  EXPECT_TRUE(ApplyMemberWrite(MemberKind::kBackup, b, rm, At(0)));
  EXPECT_EQ(b["metadata"]["finalizers"], Json::array({"other"}));
}

}  // namespace
}  // namespace brfed::sim
