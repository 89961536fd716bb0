#include "api/volume_backup.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/backup_member.h"
#include "api/labels.h"

namespace brfed::api {
namespace {

Json SampleVolumeBackup() {
  return Json::parse(R"({
    "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
    "metadata": {"name": "vb1", "namespace": "ctl", "uid": "u-1",
                 "labels": {"team": "db"}, "annotations": {"iam.amazonaws.com/role": "r"}},
    "spec": {
      "clusters": [{"k8sClusterName": "a", "tcName": "tc", "tcNamespace": "ns-a"},
                   {"k8sClusterName": "b", "tcName": "tc", "tcNamespace": "ns-b"}],
      "template": {
        "br": {"concurrency": 4, "sendCredToTikv": true, "options": ["--x"], "unmodelled": 1},
        "s3": {"provider": "aws", "bucket": "bk", "prefix": "p", "region": "us-west-2"},
        "cleanPolicy": "Delete", "calcSizeLevel": "full", "toolImage": "br:v1",
        "serviceAccount": "sa", "automountServiceAccountToken": false,
        "env": [{"name": "E", "value": "1"}], "priorityClassName": "high",
        "volumeBackupInitJobMaxActiveSeconds": 300, "snapshotsDeleteRatio": 1.5
      }
    }})");
}

TEST(VolumeBackupTest, InitializeMemberAsUpstreamBuildsIt) {
  Json vb = SampleVolumeBackup();
  Json m = BuildBackupMember(vb, VolumeBackupClusters(vb)[0], /*initialize=*/true);
  EXPECT_EQ(m["apiVersion"], "pingcap.com/v1alpha1");
  EXPECT_EQ(m["kind"], "Backup");
  EXPECT_EQ(m["metadata"]["name"], "fed-vb1");
  EXPECT_EQ(m["metadata"]["namespace"], "ns-a");
  EXPECT_EQ(m["metadata"]["labels"]["team"], "db");
  EXPECT_EQ(m["metadata"]["labels"][std::string(kManagedByLabel)], "br-federation-manager");
  EXPECT_EQ(m["metadata"]["labels"][std::string(kVolumeBackupLabel)], "vb1");
  EXPECT_EQ(m["metadata"]["annotations"]["iam.amazonaws.com/role"], "r");
  EXPECT_EQ(m["metadata"]["annotations"][std::string(kOwnerAnnotation)], "ctl/vb1");
  EXPECT_EQ(m["metadata"]["annotations"][std::string(kOwnerUidAnnotation)], "u-1");
  const Json& spec = m["spec"];
  EXPECT_EQ(spec["backupMode"], "volume-snapshot");
  EXPECT_EQ(spec["backupType"], "full");
  EXPECT_EQ(spec["federalVolumeBackupPhase"], "initialize");
  EXPECT_EQ(spec["volumeBackupInitJobMaxActiveSeconds"], 300);
  EXPECT_FALSE(spec.contains("resumeGcSchedule"));
  EXPECT_EQ(spec["br"], Json::parse(R"({"cluster": "tc", "clusterNamespace": "ns-a",
      "concurrency": 4, "sendCredToTikv": true, "options": ["--x"]})"));
  EXPECT_EQ(spec["s3"]["prefix"], "p-a");
  EXPECT_EQ(spec["s3"]["bucket"], "bk");
  EXPECT_EQ(spec["s3"]["region"], "us-west-2");
  EXPECT_EQ(spec["cleanOption"]["snapshotsDeleteRatio"], 1.5);
  EXPECT_EQ(spec["cleanPolicy"], "Delete");
  EXPECT_EQ(spec["calcSizeLevel"], "full");
  EXPECT_EQ(spec["toolImage"], "br:v1");
  EXPECT_EQ(spec["serviceAccount"], "sa");
  // Dropped, as upstream drops it (we used to pass it on).
  EXPECT_FALSE(spec.contains("automountServiceAccountToken"));
  EXPECT_EQ(spec["env"][0]["name"], "E");
  EXPECT_EQ(spec["priorityClassName"], "high");
  EXPECT_FALSE(spec.contains("snapshotsDeleteRatio"));
}

TEST(VolumeBackupTest, ExecuteMemberHasNoInitDeadline) {
  Json vb = SampleVolumeBackup();
  Json m = BuildBackupMember(vb, VolumeBackupClusters(vb)[1], /*initialize=*/false);
  EXPECT_EQ(m["spec"]["federalVolumeBackupPhase"], "execute");
  EXPECT_EQ(m["metadata"]["namespace"], "ns-b");
  EXPECT_EQ(m["spec"]["s3"]["prefix"], "p-b");
  EXPECT_FALSE(m["spec"].contains("volumeBackupInitJobMaxActiveSeconds"));
}

TEST(VolumeBackupTest, SnapshotsDeleteRatioBounds) {
  Json vb = SampleVolumeBackup();
  for (auto [value, expected, out_of_range] :
       {std::tuple{0.05, 1.0, true}, {0.1, 0.1, false}, {2.0, 2.0, false}, {2.5, 1.0, true}}) {
    vb["spec"]["template"]["snapshotsDeleteRatio"] = value;
    EXPECT_DOUBLE_EQ(MemberSnapshotsDeleteRatio(vb), expected) << value;
    EXPECT_EQ(SnapshotsDeleteRatioOutOfRange(vb), out_of_range) << value;
  }
  vb["spec"]["template"].erase("snapshotsDeleteRatio");
  EXPECT_DOUBLE_EQ(MemberSnapshotsDeleteRatio(vb), 1.0);
  EXPECT_FALSE(SnapshotsDeleteRatioOutOfRange(vb));
}

TEST(VolumeBackupTest, MemberOwnership) {
  Json vb = SampleVolumeBackup();
  Json m = BuildBackupMember(vb, VolumeBackupClusters(vb)[0], true);
  EXPECT_TRUE(MemberBelongsTo(m, vb));
  Json recreated = vb;
  recreated["metadata"]["uid"] = "u-2";
  EXPECT_FALSE(MemberBelongsTo(m, recreated));
}

// A member as the Go manager builds it: the VolumeBackup's labels and annotations, no marks.
Json GoBuiltMember(const Json& vb) {
  Json m = BuildBackupMember(vb, VolumeBackupClusters(vb)[0], true);
  m["metadata"]["labels"].erase(std::string(kManagedByLabel));
  m["metadata"]["labels"].erase(std::string(kVolumeBackupLabel));
  m["metadata"]["annotations"].erase(std::string(kOwnerAnnotation));
  m["metadata"]["annotations"].erase(std::string(kOwnerUidAnnotation));
  m["metadata"]["creationTimestamp"] = "2026-01-01T00:00:05Z";
  m["metadata"]["resourceVersion"] = "77";
  return m;
}

TEST(VolumeBackupTest, GoManagerMembersAreRecognised) {
  Json vb = SampleVolumeBackup();
  vb["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  struct Case {
    const char* name;
    std::function<void(Json&)> change;
    bool adoptable;
  };
  const std::vector<Case> cases = {
      {"as built", [](Json&) {}, true},
      {"created in the same second",
       [](Json& m) { m["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"; }, true},
      {"extra labels", [](Json& m) { m["metadata"]["labels"]["x"] = "y"; }, true},
      {"ours already",
       [](Json& m) {
         m["metadata"]["labels"][std::string(kManagedByLabel)] = "br-federation-manager";
       },
       false},
      {"owner annotation",
       [](Json& m) { m["metadata"]["annotations"][std::string(kOwnerAnnotation)] = "ctl/vb1"; },
       false},
      {"owner uid",
       [](Json& m) { m["metadata"]["annotations"][std::string(kOwnerUidAnnotation)] = "u-0"; },
       false},
      {"another name", [](Json& m) { m["metadata"]["name"] = "fed-other"; }, false},
      {"no federal phase", [](Json& m) { m["spec"].erase("federalVolumeBackupPhase"); }, false},
      {"older than the VolumeBackup",
       [](Json& m) { m["metadata"]["creationTimestamp"] = "2025-12-31T23:59:59Z"; }, false},
      {"no creationTimestamp", [](Json& m) { m["metadata"].erase("creationTimestamp"); }, false},
      {"a label missing", [](Json& m) { m["metadata"]["labels"].erase("team"); }, false},
      {"a label differs", [](Json& m) { m["metadata"]["labels"]["team"] = "web"; }, false},
      {"a user's own Backup", [](Json& m) { m["metadata"]["labels"] = Json::object(); }, false},
  };
  for (const auto& c : cases) {
    Json m = GoBuiltMember(vb);
    c.change(m);
    EXPECT_EQ(IsGoManagerMember(m, vb), c.adoptable) << c.name;
  }
}

TEST(VolumeBackupTest, AdoptionPatchGivesOurMarksOnTheReadVersion) {
  Json vb = SampleVolumeBackup();
  Json m = GoBuiltMember(vb);
  Json patch = AdoptionPatch(m, vb);
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "77");
  Json adopted = m;
  adopted.merge_patch(patch);
  EXPECT_TRUE(MemberBelongsTo(adopted, vb));
  EXPECT_FALSE(IsGoManagerMember(adopted, vb));
  EXPECT_EQ(adopted["metadata"]["labels"][std::string(kManagedByLabel)], "br-federation-manager");
  EXPECT_EQ(adopted["metadata"]["labels"][std::string(kVolumeBackupLabel)], "vb1");
  EXPECT_EQ(adopted["metadata"]["labels"]["team"], "db") << "the copied labels stay";
  EXPECT_EQ(adopted["spec"], m["spec"]) << "adoption changes metadata only";
}

TEST(VolumeBackupTest, ValidSampleHasNoIssues) {
  EXPECT_TRUE(ValidateVolumeBackup(SampleVolumeBackup(), {"a", "b", "c"}).empty());
  Json longest = SampleVolumeBackup();
  longest["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = kMaxInitJobMaxActiveSeconds;
  EXPECT_TRUE(ValidateVolumeBackup(longest, {"a", "b", "c"}).empty());
}

// Issue 18, finding 6: messages quote bounded excerpts of bad values.
TEST(VolumeBackupTest, ValidationQuotesBoundedExcerpts) {
  Json vb = SampleVolumeBackup();
  const std::string huge(1600000, 'x');
  vb["metadata"]["name"] = huge;
  vb["spec"]["clusters"][0]["k8sClusterName"] = huge;
  vb["spec"]["clusters"][1]["tcName"] = huge;
  vb["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = huge;
  auto issues = ValidateVolumeBackup(vb, {"a", "b", "c"});
  ASSERT_EQ(issues.size(), 4u);
  for (const auto& i : issues) {
    EXPECT_LT(i.message.size(), 700u) << i.reason;
    EXPECT_NE(i.message.find("… (160000"), std::string::npos) << i.message;
  }
}

std::string AllMessages(const std::vector<ValidationIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.reason + ": " + i.message + "\n";
  return out;
}

TEST(VolumeBackupTest, ValidationNamesEachProblem) {
  struct Case {
    const char* what;
    std::function<void(Json&)> mutate;
    const char* reason;
    const char* needle;
  };
  std::vector<Case> cases = {
      {"no clusters", [](Json& v) { v["spec"]["clusters"] = Json::array(); }, "NoClusters",
       "spec.clusters is empty"},
      {"clusters missing", [](Json& v) { v["spec"].erase("clusters"); }, "NoClusters", "empty"},
      {"duplicate", [](Json& v) { v["spec"]["clusters"][1]["k8sClusterName"] = "a"; },
       "DuplicateCluster", "'a' appears more than once"},
      {"unknown context", [](Json& v) { v["spec"]["clusters"][1]["k8sClusterName"] = "zz"; },
       "UnknownCluster", "known contexts: a, b, c"},
      {"no k8sClusterName", [](Json& v) { v["spec"]["clusters"][0].erase("k8sClusterName"); },
       "InvalidCluster", "clusters[0].k8sClusterName is missing"},
      {"no tcName", [](Json& v) { v["spec"]["clusters"][0].erase("tcName"); }, "InvalidCluster",
       "tcName is missing"},
      {"bad tcNamespace", [](Json& v) { v["spec"]["clusters"][1]["tcNamespace"] = "Bad_NS"; },
       "InvalidCluster", "tcNamespace 'Bad_NS' is invalid"},
      {"cluster not object", [](Json& v) { v["spec"]["clusters"][1] = "b"; }, "InvalidCluster",
       "must be an object"},
      {"no template", [](Json& v) { v["spec"].erase("template"); }, "MissingTemplate", "br and s3"},
      {"no br", [](Json& v) { v["spec"]["template"].erase("br"); }, "MissingBR", "br is missing"},
      {"no s3", [](Json& v) { v["spec"]["template"].erase("s3"); }, "MissingS3", "s3 is missing"},
      {"gcs instead",
       [](Json& v) {
         v["spec"]["template"].erase("s3");
         v["spec"]["template"]["gcs"] = {{"projectId", "p"}};
       },
       "MissingS3", "not supported"},
      {"no bucket", [](Json& v) { v["spec"]["template"]["s3"].erase("bucket"); }, "MissingS3",
       "bucket is missing"},
      {"long name", [](Json& v) { v["metadata"]["name"] = std::string(48, 'n'); }, "NameTooLong",
       "at most 47"},
      {"zero deadline",
       [](Json& v) { v["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = 0; },
       "InvalidTemplate", "positive"},
      // Issue 18, finding 7: the init job's deadline is the data plane's only bound on a pause.
      {"huge deadline",
       [](Json& v) {
         v["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = 9223372036854775807LL;
       },
       "InvalidTemplate", "at most 21600"},
      {"deadline one past the bound",
       [](Json& v) { v["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = 21601; },
       "InvalidTemplate", "got 21601"},
      {"fractional deadline",
       [](Json& v) { v["spec"]["template"]["volumeBackupInitJobMaxActiveSeconds"] = 1.5; },
       "InvalidTemplate", "positive"},
  };
  for (const auto& c : cases) {
    Json vb = SampleVolumeBackup();
    c.mutate(vb);
    auto issues = ValidateVolumeBackup(vb, {"a", "b", "c"});
    std::string all = AllMessages(issues);
    ASSERT_FALSE(issues.empty()) << c.what;
    bool found = false;
    for (const auto& i : issues) {
      if (i.reason == c.reason && i.message.find(c.needle) != std::string::npos) found = true;
    }
    EXPECT_TRUE(found) << c.what << " gave:\n" << all;
  }
  Json vb = SampleVolumeBackup();
  vb["metadata"]["name"] = std::string(47, 'n');
  EXPECT_TRUE(ValidateVolumeBackup(vb, {"a", "b"}).empty());
  EXPECT_NE(AllMessages(ValidateVolumeBackup(SampleVolumeBackup(), {})).find("(none)"),
            std::string::npos);
}

TEST(VolumeBackupTest, FinalizerAndDeletion) {
  Json vb = SampleVolumeBackup();
  EXPECT_FALSE(HasFinalizer(vb, kBackupProtectionFinalizer));
  EXPECT_FALSE(IsBeingDeleted(vb));
  vb["metadata"]["finalizers"] = {"tidb.pingcap.com/backup-protection"};
  vb["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  EXPECT_TRUE(HasFinalizer(vb, kBackupProtectionFinalizer));
  EXPECT_TRUE(IsBeingDeleted(vb));
}

Json LoadCrd(const std::string& file) {
  std::ifstream in(std::string(BRFED_SOURCE_DIR) + "/deploy/crds/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ParseYaml(ss.str());
  EXPECT_TRUE(doc.ok()) << file << ": " << doc.status().ToString();
  return doc.ok() ? *doc : Json::object();
}

TEST(CrdTest, FederationCrdsMatchUpstreamNamesAndAddStatus) {
  struct Want {
    const char* file;
    const char* kind;
    const char* short_name;
    std::vector<std::string> columns;
  };
  for (const Want& w : {Want{"federation.pingcap.com_volumebackups.yaml",
                             "VolumeBackup",
                             "vbk",
                             {"Status", "BackupSize", "CommitTS", "TimeTaken", "Age"}},
                        Want{"federation.pingcap.com_volumerestores.yaml",
                             "VolumeRestore",
                             "vrt",
                             {"Status", "CommitTS", "TimeTaken", "Age"}},
                        Want{"federation.pingcap.com_volumebackupschedules.yaml",
                             "VolumeBackupSchedule",
                             "vbks",
                             {"Schedule", "MaxBackups", "MaxReservedTime", "LastBackup",
                              "LastBackupTime", "Age"}}}) {
    Json crd = LoadCrd(w.file);
    EXPECT_EQ(crd["spec"]["group"], "federation.pingcap.com");
    EXPECT_EQ(crd["spec"]["names"]["kind"], w.kind);
    EXPECT_EQ(crd["spec"]["names"]["shortNames"][0], w.short_name);
    EXPECT_EQ(crd["spec"]["scope"], "Namespaced");
    const Json& version = crd["spec"]["versions"][0];
    EXPECT_EQ(version["name"], "v1alpha1");
    EXPECT_TRUE(version["subresources"].contains("status")) << w.file;
    std::vector<std::string> columns;
    for (const Json& c : version["additionalPrinterColumns"]) columns.push_back(c["name"]);
    EXPECT_EQ(columns, w.columns) << w.file;
  }
  Json vbk = LoadCrd("federation.pingcap.com_volumebackups.yaml");
  const Json& props = vbk["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
  EXPECT_EQ(props["skipGC"]["default"], false);
  const Json& tmpl = props["spec"]["properties"]["template"]["properties"];
  EXPECT_EQ(tmpl["calcSizeLevel"]["default"], "all");
  EXPECT_EQ(tmpl["volumeBackupInitJobMaxActiveSeconds"]["default"], 600);
  EXPECT_EQ(tmpl["snapshotsDeleteRatio"]["default"], 1);
  EXPECT_TRUE(tmpl.contains("automountServiceAccountToken"));
}

TEST(CrdTest, TestCrdsForTheDataPlane) {
  for (auto [file, kind, short_name] :
       {std::tuple{"test/pingcap.com_backups.yaml", "Backup", "bk"},
        {"test/pingcap.com_restores.yaml", "Restore", "rt"},
        {"test/pingcap.com_tidbclusters.yaml", "TidbCluster", "tc"}}) {
    Json crd = LoadCrd(file);
    EXPECT_EQ(crd["spec"]["group"], "pingcap.com");
    EXPECT_EQ(crd["spec"]["names"]["kind"], kind);
    EXPECT_EQ(crd["spec"]["names"]["shortNames"][0], short_name);
    const Json& schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    EXPECT_EQ(schema["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"], true);
    EXPECT_EQ(schema["properties"]["status"]["x-kubernetes-preserve-unknown-fields"], true);
  }
}

}  // namespace
}  // namespace brfed::api
