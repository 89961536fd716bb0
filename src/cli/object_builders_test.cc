#include "cli/object_builders.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::cli {
namespace {

VolumeBackupOptions TwoClusterBackup() {
  VolumeBackupOptions o;
  o.name = "nightly";
  o.ns = "default";
  o.clusters = {{"dp-1", "tidb", "basic"}, {"dp-2", "tidb", "basic"}};
  o.tmpl.bucket = "b";
  o.tmpl.region = "us-west-2";
  return o;
}

TEST(BuildVolumeBackup, WritesUpstreamShape) {
  Result<Json> vb = BuildVolumeBackup(TwoClusterBackup());
  ASSERT_TRUE(vb.ok()) << vb.status().ToString();
  EXPECT_EQ((*vb)["apiVersion"], "federation.pingcap.com/v1alpha1");
  EXPECT_EQ((*vb)["kind"], "VolumeBackup");
  EXPECT_EQ((*vb)["metadata"]["namespace"], "default");
  EXPECT_EQ((*vb)["spec"]["clusters"][0],
            Json({{"k8sClusterName", "dp-1"}, {"tcName", "basic"}, {"tcNamespace", "tidb"}}));
  const Json& s3 = (*vb)["spec"]["template"]["s3"];
  EXPECT_EQ(s3["provider"], "aws");
  EXPECT_EQ(s3["bucket"], "b");
  EXPECT_EQ(s3["prefix"], "nightly");  // defaults to the name
  EXPECT_EQ(s3["region"], "us-west-2");
  EXPECT_TRUE((*vb)["spec"]["template"]["br"].is_object());
}

TEST(BuildVolumeBackup, RejectsBadInputWithAHint) {
  VolumeBackupOptions o = TwoClusterBackup();
  o.name = "Bad_Name";
  EXPECT_EQ(BuildVolumeBackup(o).status().code(), Code::kInvalidArgument);
  o = TwoClusterBackup();
  o.clusters.clear();
  EXPECT_NE(BuildVolumeBackup(o).status().message().find("--cluster"), std::string::npos);
  o = TwoClusterBackup();
  o.tmpl.bucket.clear();
  EXPECT_NE(BuildVolumeBackup(o).status().message().find("--bucket"), std::string::npos);
  o = TwoClusterBackup();
  o.tmpl.clean_policy = "Sometimes";
  EXPECT_NE(BuildVolumeBackup(o).status().message().find("Retain"), std::string::npos);
}

TEST(BuildVolumeRestore, NamesTheBackupAndDerivesClusterLocations) {
  Json vb = *BuildVolumeBackup(TwoClusterBackup());
  VolumeRestoreOptions o;
  o.name = "r1";
  o.from_backup = "nightly";
  o.warmup = "sync";
  EXPECT_NE(BuildVolumeRestore(o, &vb).status().message().find("--warmup-image"),
            std::string::npos);
  o.warmup_image = "warmup:v1";
  Result<Json> vr = BuildVolumeRestore(o, &vb);
  ASSERT_TRUE(vr.ok()) << vr.status().ToString();
  EXPECT_EQ((*vr)["spec"]["volumeBackupName"], "nightly");
  EXPECT_EQ((*vr)["spec"]["template"]["warmup"], "sync");
  EXPECT_EQ((*vr)["spec"]["template"]["warmupImage"], "warmup:v1");
  ASSERT_EQ((*vr)["spec"]["clusters"].size(), 2u);
  EXPECT_EQ((*vr)["spec"]["clusters"][1],
            Json({{"k8sClusterName", "dp-2"}, {"tcName", "basic"}, {"tcNamespace", "tidb"}}));

  // Upstream form: locations instead of the reference (the two are mutually exclusive).
  o.inline_locations = true;
  Result<Json> inline_vr = BuildVolumeRestore(o, &vb);
  ASSERT_TRUE(inline_vr.ok()) << inline_vr.status().ToString();
  EXPECT_FALSE((*inline_vr)["spec"].contains("volumeBackupName"));
  EXPECT_EQ((*inline_vr)["spec"]["clusters"][1]["backup"]["s3"]["prefix"], "nightly-dp-2");
  EXPECT_EQ((*inline_vr)["spec"]["clusters"][1]["backup"]["s3"]["bucket"], "b");
  EXPECT_FALSE(BuildVolumeRestore(o, nullptr).ok());
  o.inline_locations = false;

  // Without the source object only the reference is written.
  Result<Json> bare = BuildVolumeRestore(o, nullptr);
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE((*bare)["spec"].contains("clusters"));

  o.warmup = "later";
  EXPECT_NE(BuildVolumeRestore(o, &vb).status().message().find("sync, async"), std::string::npos);
  o.warmup = "";
  o.from_backup = "";
  EXPECT_NE(BuildVolumeRestore(o, &vb).status().message().find("--from-backup"), std::string::npos);
}

TEST(BuildVolumeBackupSchedule, WritesScheduleAndChecksDurations) {
  VolumeBackupScheduleOptions o;
  o.name = "every-6h";
  o.schedule = "0 */6 * * *";
  o.clusters = {{"dp-1", "tidb", "basic"}};
  o.tmpl.bucket = "b";
  o.max_backups = 3;
  o.max_reserved_time = "72h";
  o.group = "g1";
  Result<Json> s = BuildVolumeBackupSchedule(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)["spec"]["schedule"], "0 */6 * * *");
  EXPECT_EQ((*s)["spec"]["maxBackups"], 3);
  EXPECT_EQ((*s)["spec"]["maxReservedTime"], "72h");
  EXPECT_EQ((*s)["spec"]["pause"], false);
  EXPECT_EQ((*s)["spec"]["backupTemplate"]["clusters"].size(), 1u);
  EXPECT_EQ((*s)["metadata"]["labels"]["tidb.pingcap.com/backup-schedule-group"], "g1");
  o.max_reserved_time = "3 days";
  EXPECT_NE(BuildVolumeBackupSchedule(o).status().message().find("72h"), std::string::npos);
  o.max_reserved_time = "";
  o.schedule = "";
  EXPECT_NE(BuildVolumeBackupSchedule(o).status().message().find("cron"), std::string::npos);
}

TEST(ParseLabels, SplitsKeyValue) {
  EXPECT_EQ(ParseLabels({"a=b", "c="})->at("c"), "");
  EXPECT_FALSE(ParseLabels({"novalue"}).ok());
  EXPECT_FALSE(ParseLabels({"=x"}).ok());
  // Issue 18, finding 7: what the API server would refuse is refused here.
  for (const char* bad : {"k=v=w", "k=-v", "bad key=v", "k/=v", "Bad_Prefix/k=v"}) {
    auto parsed = ParseLabels({bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(bad), std::string::npos) << parsed.status().message();
  }
  EXPECT_TRUE(ParseLabels({"tidb.pingcap.com/team=Data_1.x"}).ok());
}

}  // namespace
}  // namespace brfed::cli
