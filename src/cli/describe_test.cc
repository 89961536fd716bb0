#include "cli/describe.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::cli {
namespace {

Json CompletedBackup() {
  return Json::parse(R"({
    "metadata": {"name": "b1", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
    "spec": {"clusters": [{"k8sClusterName": "dp-1", "tcNamespace": "tidb", "tcName": "basic"}],
             "template": {"s3": {"bucket": "bk", "prefix": "b1", "region": "us-west-2"}}},
    "status": {"phase": "Complete", "backupSizeReadable": "3.1 GB", "commitTs": "4455",
      "timeStarted": "2026-01-01T00:00:01Z", "timeCompleted": "2026-01-01T00:00:09Z",
      "timeTaken": "8s",
      "backups": [{"k8sClusterName": "dp-1", "tcNamespace": "tidb", "backupName": "fed-b1",
                   "phase": "Failed", "backupSize": 3100000000, "commitTs": "4455",
                   "reason": "SnapshotFailed", "message": "volume vol-1 gone"}],
      "steps": [{"stepName": "GCPause", "timeStarted": "2026-01-01T00:00:01Z",
                 "timeCompleted": "2026-01-01T00:00:03Z", "timeTaken": "2s"},
                {"stepName": "Snapshots", "timeStarted": "2026-01-01T00:00:02Z"}]}})");
}

TEST(DescribeVolumeBackup, ShowsMembersStepsAndEvents) {
  const Time now = *ParseRfc3339("2026-01-01T00:01:00Z");
  std::vector<Json> events = {Json::parse(
      R"({"type": "Normal", "reason": "Complete", "message": "all members complete",
          "lastTimestamp": "2026-01-01T00:00:09Z", "source": {"component": "br-federation-manager"}})")};
  const std::string out = DescribeVolumeBackup(CompletedBackup(), events, now, Style(false));
  EXPECT_NE(out.find("Name:           b1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("CommitTs:       4455"), std::string::npos);
  EXPECT_NE(out.find("GC paused:      2026-01-01T00:00:01Z .. 2026-01-01T00:00:03Z (2s)"),
            std::string::npos);
  EXPECT_NE(out.find("dp-1      tidb/fed-b1   Failed   3.1 GB"), std::string::npos) << out;
  EXPECT_NE(out.find("SnapshotFailed: volume vol-1 gone"), std::string::npos);
  EXPECT_NE(out.find("Snapshots   2026-01-01T00:00:02Z   -                      58s so far"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("all members complete"), std::string::npos);
  EXPECT_NE(out.find("br-federation-manager"), std::string::npos);
}

// Issue 18: describe names an unreachable data plane with its last error, and a backup failed
// by the GC-pause budget with the clusters that were not done.
TEST(DescribeVolumeBackup, ShowsUnreachableDataPlanesAndThePauseBudget) {
  Json vb = CompletedBackup();
  vb["status"]["phase"] = "Failed";
  vb["status"]["conditions"] = Json::parse(R"js([
    {"type": "Failed", "status": "True", "reason": "PauseBudgetExceeded",
     "message": "GC pause budget 3s exceeded: not every member reported VolumeBackupSnapshotsCreated; not done: cluster dp-2 (unreachable: timeout)",
     "lastTransitionTime": "2026-01-01T00:00:05Z"
},
    {"type": "DataPlaneUnreachable", "status": "True", "reason": "ProbeFailed",
     "message": "data plane unreachable: cluster dp-2: GET /version: timeout",
     "lastTransitionTime": "2026-01-01T00:00:02Z"}])js");
  const std::string out =
      DescribeVolumeBackup(vb, {}, *ParseRfc3339("2026-01-01T00:01:00Z"), Style(false));
  EXPECT_NE(out.find("Phase:          Failed"), std::string::npos) << out;
  EXPECT_NE(out.find("PauseBudgetExceeded"), std::string::npos) << out;
  EXPECT_NE(out.find("not done: cluster dp-2"), std::string::npos) << out;
  EXPECT_NE(out.find("DataPlaneUnreachable"), std::string::npos) << out;
  EXPECT_NE(out.find("cluster dp-2: GET /version: timeout"), std::string::npos) << out;
}

TEST(DescribeVolumeBackup, GcPauseShowsTheManagersShareWhenRecorded) {
  Json vb = CompletedBackup();
  vb["status"]["steps"][0]["controlPlaneTimeTaken"] = "15ms";
  const std::string out =
      DescribeVolumeBackup(vb, {}, *ParseRfc3339("2026-01-01T00:01:00Z"), Style(false));
  EXPECT_NE(out.find("GC paused:      2026-01-01T00:00:01Z .. 2026-01-01T00:00:03Z (2s, of which "
                     "waiting on the manager 15ms)"),
            std::string::npos)
      << out;
}

TEST(DescribeVolumeBackup, FreshObjectSaysWhatIsMissing) {
  Json vb = {{"metadata", {{"name", "x"}}}};
  const std::string out = DescribeVolumeBackup(vb, {}, Time{}, Style(false));
  EXPECT_NE(out.find("Phase:          Pending"), std::string::npos) << out;
  EXPECT_NE(out.find("Members:        <none yet>"), std::string::npos);
  EXPECT_NE(out.find("Events:         <none>"), std::string::npos);
}

TEST(SummarizeVolumeBackup, HasEverythingTheDemoPrints) {
  const std::string out = SummarizeVolumeBackup(CompletedBackup(), Style(false));
  EXPECT_NE(out.find("VolumeBackup b1: Complete"), std::string::npos) << out;
  EXPECT_NE(out.find("members:"), std::string::npos);
  EXPECT_NE(out.find("3.1 GB"), std::string::npos);
  EXPECT_NE(out.find("4455"), std::string::npos);
  EXPECT_NE(out.find("GC paused:"), std::string::npos);
  EXPECT_NE(out.find("time taken:"), std::string::npos);
}

}  // namespace
}  // namespace brfed::cli
