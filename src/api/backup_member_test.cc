#include "api/backup_member.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::api {
namespace {

Json Member(std::string mode, std::vector<std::string> true_conditions) {
  Json m = {{"spec", {{"backupMode", mode}, {"federalVolumeBackupPhase", "execute"}}},
            {"status", {{"conditions", Json::array()}}}};
  for (const auto& c : true_conditions) {
    m["status"]["conditions"].push_back(
        {{"type", c}, {"status", "True"}, {"reason", "R"}, {"message", "boom"}});
  }
  return m;
}

TEST(BackupMemberTest, VolumePredicatesAreModeGated) {
  Json m = Member("snapshot", {"VolumeBackupInitialized", "VolumeBackupComplete"});
  EXPECT_FALSE(IsVolumeBackupInitialized(m));
  EXPECT_FALSE(IsVolumeBackupComplete(m));
  m["spec"]["backupMode"] = "volume-snapshot";
  EXPECT_TRUE(IsVolumeBackupInitialized(m));
  EXPECT_TRUE(IsVolumeBackupComplete(m));
  EXPECT_EQ(MemberFederalPhase(m), "execute");
  EXPECT_FALSE(MemberResumeGcSchedule(m));
}

TEST(BackupMemberTest, FalseConditionIsNotTrue) {
  Json m = Member("volume-snapshot", {});
  m["status"]["conditions"].push_back({{"type", "Failed"}, {"status", "False"}});
  EXPECT_FALSE(IsBackupFailed(m));
  EXPECT_FALSE(IsMemberFailed(m));
}

TEST(BackupMemberTest, FailureAndTerminalClasses) {
  for (const char* c :
       {"VolumeBackupInitializeFailed", "VolumeBackupFailed", "Failed", "Invalid"}) {
    Json m = Member("volume-snapshot", {c});
    EXPECT_TRUE(IsMemberFailed(m)) << c;
    EXPECT_NE(MemberFailureSummary(m).find(std::string(c) + " (R): boom"), std::string::npos);
  }
  EXPECT_TRUE(IsMemberTerminal(Member("volume-snapshot", {"Complete"})));
  EXPECT_TRUE(IsMemberTerminal(Member("volume-snapshot", {"Invalid"})));
  EXPECT_FALSE(IsMemberTerminal(Member("volume-snapshot", {"VolumeBackupFailed"})));
  EXPECT_EQ(MemberFailureSummary(Member("volume-snapshot", {"Complete"})), "");
}

TEST(BackupMemberTest, PauseHeldBetweenInitializedAndRelease) {
  EXPECT_FALSE(IsMemberPauseHeld(Member("volume-snapshot", {})));
  EXPECT_TRUE(IsMemberPauseHeld(Member("volume-snapshot", {"VolumeBackupInitialized"})));
  for (const char* release : {"VolumeBackupInitializeComplete", "VolumeBackupInitializeFailed",
                              "VolumeBackupFailed", "Failed", "Complete", "Invalid"}) {
    EXPECT_FALSE(IsMemberPauseHeld(Member("volume-snapshot", {"VolumeBackupInitialized", release})))
        << release;
  }
}

}  // namespace
}  // namespace brfed::api
