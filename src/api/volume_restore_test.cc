#include "api/volume_restore.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::api {
namespace {

Json SampleRestore() {
  return Json::parse(R"({
    "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeRestore",
    "metadata": {"name": "r1", "namespace": "fed", "uid": "u-1", "resourceVersion": "7",
                 "labels": {"team": "db"}, "annotations": {"iam.amazonaws.com/role": "arn:x"},
                 "finalizers": ["tidb.pingcap.com/restore-protection"]},
    "spec": {
      "clusters": [
        {"k8sClusterName": "a", "tcName": "tc", "tcNamespace": "ns-a", "azName": "us-west-2a",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-a"}}},
        {"k8sClusterName": "b", "tcName": "tc", "tcNamespace": "ns-b"}
      ],
      "template": {
        "br": {"sendCredToTikv": true, "options": ["--volume-type=gp3"], "concurrency": 4},
        "toolImage": "pingcap/br:v7", "serviceAccount": "sa", "warmup": "sync",
        "warmupImage": "wu:1", "warmupStrategy": "fsr", "env": [{"name": "A", "value": "1"}],
        "priorityClassName": "", "unknownField": 1
      }
    }
  })");
}

TEST(VolumeRestoreViewTest, ParsesSpecAndMetadata) {
  Json obj = SampleRestore();
  auto v = ParseVolumeRestore(obj);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->name, "r1");
  EXPECT_EQ(v->ns, "fed");
  EXPECT_EQ(v->uid, "u-1");
  EXPECT_TRUE(v->HasFinalizer());
  EXPECT_FALSE(v->deleting);
  ASSERT_EQ(v->clusters.size(), 2u);
  EXPECT_EQ(v->clusters[0].az_name, "us-west-2a");
  ASSERT_NE(v->clusters[0].backup, nullptr);
  EXPECT_EQ(v->clusters[1].backup, nullptr);
  EXPECT_EQ(v->warmup, "sync");
  EXPECT_EQ(v->warmup_image, "wu:1");
  EXPECT_EQ(v->warmup_strategy, "fsr");
  EXPECT_TRUE(v->status.conditions.empty());
}

TEST(VolumeRestoreViewTest, ShapeErrorsNameTheField) {
  Json obj = SampleRestore();
  obj["spec"]["clusters"] = "nope";
  auto v = ParseVolumeRestore(obj);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("spec.clusters"), std::string::npos);

  obj = SampleRestore();
  obj["spec"]["clusters"][1] = 5;
  v = ParseVolumeRestore(obj);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("spec.clusters[1]"), std::string::npos);

  obj = SampleRestore();
  obj["status"] = {{"timeStarted", "yesterday"}};
  v = ParseVolumeRestore(obj);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("timeStarted"), std::string::npos);

  EXPECT_FALSE(ParseVolumeRestore(Json::array()).ok());
}

TEST(VolumeRestoreBuilderTest, BuildsMemberAsUpstreamPlusOwnership) {
  Json obj = SampleRestore();
  auto v = ParseVolumeRestore(obj);
  ASSERT_TRUE(v.ok());
  Json m = BuildRestoreMember(*v, v->clusters[0], *v->clusters[0].backup);
  EXPECT_EQ(m["apiVersion"], "pingcap.com/v1alpha1");
  EXPECT_EQ(m["kind"], "Restore");
  EXPECT_EQ(m["metadata"]["name"], "fed-r1");
  EXPECT_EQ(m["metadata"]["namespace"], "ns-a");
  EXPECT_EQ(m["metadata"]["labels"]["team"], "db");
  EXPECT_EQ(m["metadata"]["labels"][std::string(kManagedByLabel)], "br-federation-manager");
  EXPECT_EQ(m["metadata"]["labels"][std::string(kOwnerUidLabel)], "u-1");
  EXPECT_EQ(m["metadata"]["annotations"]["iam.amazonaws.com/role"], "arn:x");
  EXPECT_EQ(m["metadata"]["annotations"][std::string(kOwnerAnnotation)], "fed/r1");
  const Json& spec = m["spec"];
  EXPECT_EQ(spec["restoreMode"], "volume-snapshot");
  EXPECT_EQ(spec["backupType"], "full");
  EXPECT_EQ(spec["federalVolumeRestorePhase"], "restore-volume");
  EXPECT_EQ(spec["s3"]["prefix"], "p-a");
  EXPECT_EQ(spec["volumeAZ"], "us-west-2a");
  EXPECT_EQ(spec["br"], Json::parse(R"({"cluster": "tc", "clusterNamespace": "ns-a",
      "sendCredToTikv": true, "options": ["--volume-type=gp3"], "concurrency": 4})"));
  EXPECT_EQ(spec["toolImage"], "pingcap/br:v7");
  EXPECT_EQ(spec["serviceAccount"], "sa");
  EXPECT_EQ(spec["warmup"], "sync");
  EXPECT_EQ(spec["warmupImage"], "wu:1");
  EXPECT_EQ(spec["warmupStrategy"], "fsr");
  EXPECT_EQ(spec["env"][0]["name"], "A");
  EXPECT_FALSE(spec.contains("priorityClassName"));  // empty strings are omitted, as in Go
  EXPECT_FALSE(spec.contains("unknownField"));
  EXPECT_FALSE(spec.contains("volumeBackupName"));

  // No azName, no template: still a valid member.
  Json bare = Json::parse(R"({"metadata": {"name": "r2", "namespace": "fed"},
      "spec": {"clusters": [{"k8sClusterName": "x", "tcName": "t", "tcNamespace": "n"}]}})");
  auto b = ParseVolumeRestore(bare);
  ASSERT_TRUE(b.ok());
  Json mb = BuildRestoreMember(*b, b->clusters[0], Json::parse(R"({"s3": {"bucket": "z"}})"));
  EXPECT_FALSE(mb["spec"].contains("volumeAZ"));
  EXPECT_EQ(mb["spec"]["br"], Json::parse(R"({"cluster": "t", "clusterNamespace": "n"})"));
  EXPECT_FALSE(mb["metadata"]["labels"].contains(std::string(kOwnerUidLabel)));
}

TEST(VolumeRestoreStatusTest, RoundTripsAndConditionWriterFollowsUpstream) {
  const Time t0 = Time(std::chrono::seconds(1700000000));
  const Time t1 = t0 + std::chrono::seconds(65);
  VolumeRestoreStatus s;
  s.time_started = t0;
  s.SetCondition(vrt_condition::kRunning, "True", "", "", t0);
  s.StartStep(restore_step::kRestoreVolume, t0);
  s.StartStep(restore_step::kRestoreVolume, t1);  // no-op: already started
  s.FinishStep(restore_step::kRestoreVolume, t1);
  s.FinishStep(restore_step::kRestoreVolume, t1 + std::chrono::seconds(9));  // no-op
  s.FinishStep(restore_step::kWarmUp, t1);                                   // no-op: never started
  s.SetCondition(vrt_condition::kVolumeComplete, "True", "", "", t1);
  s.SetCondition(vrt_condition::kRunning, "True", "", "again", t1);  // keeps old time
  s.restores.push_back({"a", "tc", "ns", "fed-r", "VolumeComplete", "42", "", ""});

  EXPECT_EQ(s.phase, "Running");
  ASSERT_EQ(s.conditions.size(), 2u);
  EXPECT_EQ(s.conditions[0].last_transition_time, t0);
  EXPECT_EQ(s.conditions[0].message, "again");
  ASSERT_EQ(s.steps.size(), 1u);
  EXPECT_EQ(s.steps[0].time_taken, "1m5s");
  EXPECT_EQ(s.steps[0].time_completed, t1);

  Json j = VolumeRestoreStatusToJson(s);
  EXPECT_EQ(j["steps"][0]["stepName"], "RestoreVolume");
  EXPECT_EQ(j["steps"][0]["timeStarted"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["restores"][0]["commitTs"], "42");
  EXPECT_FALSE(j.contains("timeCompleted"));
  auto back = ParseVolumeRestoreStatus(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);

  auto empty = ParseVolumeRestoreStatus(Json());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, VolumeRestoreStatus{});
  EXPECT_FALSE(ParseVolumeRestoreStatus(Json::parse(R"({"steps": 3})")).ok());
  EXPECT_FALSE(ParseVolumeRestoreStatus(Json::parse(R"({"conditions": [1]})")).ok());
}

TEST(RestoreMemberViewTest, ParsesMember) {
  Json obj = Json::parse(R"({
    "metadata": {"name": "fed-r1", "namespace": "ns-a", "resourceVersion": "12",
                 "labels": {"federation.pingcap.com/volume-restore-uid": "u-1"}},
    "spec": {"federalVolumeRestorePhase": "restore-data", "warmupStrategy": "check-wal-only",
             "br": {"cluster": "tc", "clusterNamespace": "ns-a"}},
    "status": {"phase": "VolumeComplete", "commitTs": "443",
               "conditions": [{"type": "VolumeComplete", "status": "True"},
                              {"type": "Failed", "status": "False"}]}})");
  auto m = ParseRestoreMember(obj, "a");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->k8s_cluster_name, "a");
  EXPECT_EQ(m->resource_version, "12");
  EXPECT_EQ(m->owner_uid, "u-1");
  EXPECT_EQ(m->federal_phase, "restore-data");
  EXPECT_EQ(m->warmup_strategy, "check-wal-only");
  EXPECT_EQ(m->tc_name, "tc");
  EXPECT_EQ(m->commit_ts, "443");
  EXPECT_TRUE(m->IsTrue(restore_condition::kVolumeComplete));
  EXPECT_FALSE(m->IsTrue(restore_condition::kFailed));
  EXPECT_FALSE(m->IsTrue(restore_condition::kTikvComplete));
  EXPECT_FALSE(ParseRestoreMember(Json("x"), "a").ok());
}

Json SampleVolumeBackup() {
  return Json::parse(R"({
    "metadata": {"name": "vb", "namespace": "fed"},
    "spec": {"clusters": [{"k8sClusterName": "a"}, {"k8sClusterName": "b"}],
             "template": {"s3": {"provider": "aws", "region": "us-west-2", "bucket": "bk",
                                 "prefix": "daily", "secretName": "s3-secret"}}},
    "status": {"backups": [{"k8sClusterName": "a", "backupPath": "s3://bk/daily-a"},
                           {"k8sClusterName": "b", "backupPath": ""}],
               "conditions": [{"type": "Running", "status": "True"},
                              {"type": "Complete", "status": "True"}]}})");
}

TEST(VolumeBackupReferenceTest, StorageFromBackupPathOrPrefixRule) {
  Json vb = SampleVolumeBackup();
  EXPECT_TRUE(IsFederatedVolumeBackupComplete(vb));
  EXPECT_EQ(VolumeBackupClusterNames(vb), (std::vector<std::string>{"a", "b"}));

  auto a = RestoreStorageFromVolumeBackup(vb, "a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)["s3"]["bucket"], "bk");
  EXPECT_EQ((*a)["s3"]["prefix"], "daily-a");
  EXPECT_EQ((*a)["s3"]["region"], "us-west-2");
  EXPECT_EQ((*a)["s3"]["secretName"], "s3-secret");

  auto b = RestoreStorageFromVolumeBackup(vb, "b");  // empty backupPath: prefix rule
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)["s3"]["prefix"], "daily-b");

  vb["status"]["backups"][0]["backupPath"] = "gs://x/y";
  auto bad = RestoreStorageFromVolumeBackup(vb, "a");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("gs://x/y"), std::string::npos);

  vb["status"]["backups"][0]["backupPath"] = "s3:///y";
  EXPECT_FALSE(RestoreStorageFromVolumeBackup(vb, "a").ok());

  vb["spec"]["template"].erase("s3");
  auto none = RestoreStorageFromVolumeBackup(vb, "a");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("spec.template.s3"), std::string::npos);

  vb["status"]["conditions"][1]["status"] = "False";
  EXPECT_FALSE(IsFederatedVolumeBackupComplete(vb));
  EXPECT_FALSE(IsFederatedVolumeBackupComplete(Json::object()));
}

}  // namespace
}  // namespace brfed::api
