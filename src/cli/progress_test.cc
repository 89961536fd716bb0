#include "cli/progress.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::cli {
namespace {

using namespace std::chrono_literals;

Json Backup(std::string phase, std::vector<std::pair<std::string, std::string>> members) {
  Json vb = {
      {"metadata", {{"name", "b1"}}},
      {"spec", {{"clusters", {{{"k8sClusterName", "dp-1"}}, {{"k8sClusterName", "dp-2"}}}}}}};
  if (!phase.empty()) vb["status"]["phase"] = phase;
  for (auto& [cluster, member_phase] : members) {
    vb["status"]["backups"].push_back(
        {{"k8sClusterName", cluster}, {"phase", member_phase}, {"backupName", "fed-b1"}});
  }
  return vb;
}

TEST(BackupProgress, ListsEveryRequestedClusterAndMemberDetails) {
  Json vb = Backup("Running", {{"dp-2", "Complete"}});
  vb["status"]["backups"][0]["backupSize"] = 2048;
  vb["status"]["backups"][0]["commitTs"] = "42";
  Progress p = BackupProgress(vb);
  EXPECT_EQ(p.kind, "backup");
  EXPECT_EQ(p.phase, "Running");
  ASSERT_EQ(p.members.size(), 2u);
  EXPECT_EQ(p.members[0].cluster, "dp-1");
  EXPECT_EQ(p.members[0].phase, "");
  EXPECT_EQ(p.members[1].phase, "Complete");
  EXPECT_EQ(p.members[1].detail, "size 2.0 kB, commitTs 42");
  EXPECT_FALSE(p.finished);
}

TEST(BackupProgress, FailureCarriesTheConditionMessage) {
  Json vb = Backup("Failed", {{"dp-1", "Failed"}});
  vb["status"]["conditions"] = {
      {{"type", "Failed"}, {"status", "True"}, {"message", "member dp-1 failed"}}};
  vb["status"]["backups"][0]["reason"] = "SnapshotError";
  Progress p = BackupProgress(vb);
  EXPECT_TRUE(p.finished);
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.message, "member dp-1 failed");
  EXPECT_EQ(p.members[0].detail, "SnapshotError");
}

TEST(WatchRenderer, PlainLinesOnlyForChanges) {
  WatchRenderer r(WatchRenderer::Mode::kLines, Style(false));
  EXPECT_EQ(r.Render(BackupProgress(Backup("", {})), 0s), "[0.0s] backup/b1 Pending\n");
  EXPECT_EQ(r.Render(BackupProgress(Backup("", {})), 1s), "");
  EXPECT_EQ(r.Render(BackupProgress(Backup("Running", {{"dp-1", "VolumeBackupInitialized"}})), 2s),
            "[2.0s] backup/b1 Running\n[2.0s]   dp-1 VolumeBackupInitialized\n");
  EXPECT_EQ(r.Render(BackupProgress(Backup(
                         "Running", {{"dp-1", "VolumeBackupInitialized"}, {"dp-2", "Running"}})),
                     3s),
            "[3.0s]   dp-2 Running\n");
}

TEST(WatchRenderer, RedrawMovesTheCursorBackOverThePreviousFrame) {
  WatchRenderer r(WatchRenderer::Mode::kRedraw, Style(false));
  const std::string first = r.Render(BackupProgress(Backup("Running", {})), 1s);
  EXPECT_EQ(first.find("\x1b[3F"), std::string::npos);  // nothing to move over yet
  EXPECT_NE(first.find("backup b1  Running  1.0s\n"), std::string::npos);
  EXPECT_NE(first.find("CLUSTER   PHASE"), std::string::npos);
  // Header line + table header + two members = 4 lines; the next frame starts 4 lines up.
  const std::string second = r.Render(BackupProgress(Backup("Running", {{"dp-1", "X"}})), 2s);
  EXPECT_EQ(second.rfind("\x1b[4F", 0), 0u);
  EXPECT_NE(second.find("dp-1      X"), std::string::npos);
  EXPECT_NE(second.find("\x1b[2K"), std::string::npos);
}

TEST(FormatElapsed, Scales) {
  EXPECT_EQ(FormatElapsed(1500ms), "1.5s");
  EXPECT_EQ(FormatElapsed(42s), "42s");
  EXPECT_EQ(FormatElapsed(185s), "3m05s");
}

}  // namespace
}  // namespace brfed::cli
