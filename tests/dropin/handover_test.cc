// Hand-over from the Go br-federation-manager: with no manager running, each test leaves a
// VolumeBackup where the Go manager would have left it (its status as Go writes it, its members
// built by hand as Go builds them: `fed-<name>`, the VolumeBackup's labels and annotations, none
// of our marks), lets tidb-operator-sim (TiDB Operator) move the members on, then starts ours
// and expects the backup to complete (or, deleted, its members to be deleted) with the members
// adopted, never duplicated, and the GC pause released.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/resource.h"
#include "tests/dropin/go_era.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/harness.h"
#include "tests/harness/kube_clients.h"

namespace brfed {
namespace {

using testing::TrueCondition;
using testing::WaitFor;
using namespace std::chrono_literals;

const std::string kNs = "default";
const std::string kTcNs = "tidb";
constexpr char kManagedBy[] = "federation.pingcap.com/managed-by";

// Where the Go manager stopped.
enum class GoPhase { kInitialize, kExecute, kGcResumed, kTeardown };

class HandOver : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::FederationEnvOptions options;
    options.data_planes = {"c1", "c2"};
    options.ns = kNs;
    auto env = testing::FederationEnv::Start(options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    cp_ = Client(env_->control_plane().kubeconfig);
    for (const char* c : {"c1", "c2"}) dp_[c] = Client(env_->data_plane(c).kubeconfig);
  }
  static void TearDownTestSuite() {
    dp_.clear();
    cp_.reset();
    env_.reset();
  }

  static std::shared_ptr<kube::Client> Client(const std::string& kubeconfig) {
    auto c = testing::KubeClientFor(kubeconfig);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }

  static Json GoEraVolumeBackup(const std::string& name) {
    return testing::GoEraVolumeBackup(name, kNs, {"c1", "c2"}, kTcNs);
  }
  static Json GoMember(const Json& vb, const std::string& cluster, const std::string& phase) {
    return testing::GoBackupMember(vb, cluster, phase);
  }

  // The status the Go manager writes: Running (or further) and one entry per member it made.
  static void WriteGoStatus(const std::string& name, const std::string& phase,
                            const std::vector<std::string>& members) {
    std::vector<std::pair<std::string, std::string>> phases;
    for (const auto& c : members) {
      phases.emplace_back(c, JsonStringAt(GetMember(c, name), {"status", "phase"}));
    }
    Json status = testing::GoBackupStatus(GetVolumeBackup(name), phase, phases);
    ASSERT_TRUE(PatchGoStatus(name, status).ok());
  }

  // Writes status where the CRD keeps it: the status subresource (ours), or the object itself
  // (upstream's CRDs have none; the Go manager updates the whole object).
  static Status PatchGoStatus(const std::string& name, const Json& status,
                              const kube::Resource& resource = kube::resources::VolumeBackup()) {
    auto r = cp_->Patch(resource, kNs, name, kube::PatchType::kMerge, Json{{"status", status}},
                        "status");
    if (!r.ok() && r.status().code() == Code::kNotFound) {
      r = cp_->Patch(resource, kNs, name, kube::PatchType::kMerge, Json{{"status", status}});
    }
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.status();
  }

  static Json GetMember(const std::string& cluster, const std::string& vb_name) {
    auto r = dp_.at(cluster)->Get(kube::resources::Backup(), kTcNs, "fed-" + vb_name);
    return r.ok() ? *r : Json();
  }
  static void CreateMember(const std::string& cluster, const Json& member) {
    auto r = dp_.at(cluster)->Create(kube::resources::Backup(), kTcNs, member);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  static void PatchMemberSpec(const std::string& cluster, const std::string& vb_name, Json spec) {
    auto r = dp_.at(cluster)->Patch(kube::resources::Backup(), kTcNs, "fed-" + vb_name,
                                    kube::PatchType::kMerge, Json{{"spec", std::move(spec)}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  static void WaitMember(const std::string& cluster, const std::string& vb_name,
                         const std::string& condition) {
    ASSERT_TRUE(WaitFor([&] { return TrueCondition(GetMember(cluster, vb_name), condition); }, 60s))
        << cluster << " fed-" << vb_name << " never reached " << condition << ": "
        << DumpJson(GetMember(cluster, vb_name)) << env_->SimLog();
  }

  // Plays the Go manager up to `phase` (the data plane reacting as it does), then stops.
  static void PlayGoManager(const std::string& name, GoPhase phase) {
    Json vb = GoEraVolumeBackup(name);
    auto created = cp_->Create(kube::resources::VolumeBackup(), kNs, vb);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    CreateMember("c1", GoMember(vb, "c1", "initialize"));
    WriteGoStatus(name, "Running", {"c1"});
    WaitMember("c1", name, "VolumeBackupInitialized");
    if (phase == GoPhase::kInitialize) return;
    PatchMemberSpec("c1", name, {{"federalVolumeBackupPhase", "execute"}});
    CreateMember("c2", GoMember(vb, "c2", "execute"));
    WaitMember("c1", name, "VolumeBackupSnapshotsCreated");
    WaitMember("c2", name, "VolumeBackupSnapshotsCreated");
    WriteGoStatus(name, "Running", {"c1", "c2"});
    if (phase == GoPhase::kExecute) return;
    PatchMemberSpec("c1", name, {{"resumeGcSchedule", true}});
    WaitMember("c1", name, "VolumeBackupInitializeComplete");
    WriteGoStatus(name, "SnapshotsCreated", {"c1", "c2"});
    if (phase == GoPhase::kGcResumed) return;
    WaitMember("c1", name, "VolumeBackupComplete");
    WaitMember("c2", name, "VolumeBackupComplete");
    for (const char* c : {"c1", "c2"}) {
      PatchMemberSpec(c, name, {{"federalVolumeBackupPhase", "teardown"}});
    }
  }

  static std::unique_ptr<testing::ManagerProcess> StartOurs(const std::string& tag) {
    auto m = env_->StartManager(tag);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }

  static Json GetVolumeBackup(const std::string& name) {
    auto r = cp_->Get(kube::resources::VolumeBackup(), kNs, name);
    return r.ok() ? *r : Json();
  }

  static bool PdPaused() {
    auto state = ParseJson(env_->sim_admin().Request("GET", "/state").body);
    return !state.ok() || JsonBoolAt(*state, {"pd", "paused"});
  }

  static inline std::unique_ptr<testing::FederationEnv> env_;
  static inline std::shared_ptr<kube::Client> cp_;
  static inline std::map<std::string, std::shared_ptr<kube::Client>> dp_;
};

// What upstream's /metrics has and dashboards read: the status series pre-created at 0, the
// `tc` label with duplicates kept (both data planes run a TidbCluster named basic), the
// work-queue in-flight gauges and the process collector.
void ExpectUpstreamMetrics(const std::string& metrics) {
  const std::string series = "fed_volume_backup_status{namespace=\"default\",tc=\"basic,basic\",";
  for (const char* status : {"Running", "SnapshotsCreated", "Failed", "Cleaned"}) {
    EXPECT_NE(metrics.find(series + "status=\"" + status + "\"} 0"), std::string::npos)
        << status << "\n"
        << metrics;
  }
  EXPECT_NE(metrics.find(series + "status=\"Complete\"} 1"), std::string::npos) << metrics;
  for (const char* name :
       {"workqueue_unfinished_work_seconds{name=\"volumeBackup\"}",
        "workqueue_longest_running_processor_seconds{name=\"volumeBackup\"}",
        "process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_start_time_seconds ", "process_open_fds ", "process_max_fds "}) {
    EXPECT_NE(metrics.find(name), std::string::npos) << name;
  }
}

struct PhaseCase {
  const char* name;
  GoPhase phase;
};

TEST_F(HandOver, InFlightGoBackupsCompleteFromEveryPhase) {
  const std::vector<PhaseCase> cases = {
      {"go-initialize", GoPhase::kInitialize},
      {"go-execute", GoPhase::kExecute},
      {"go-gc-resumed", GoPhase::kGcResumed},
      {"go-teardown", GoPhase::kTeardown},
  };
  for (const auto& c : cases) {
    PlayGoManager(c.name, c.phase);
    if (HasFatalFailure()) return;
    auto ours = StartOurs(std::string("ours-") + c.name);
    ASSERT_NE(ours, nullptr);
    Json vb;
    WaitFor(
        [&] {
          vb = GetVolumeBackup(c.name);
          const std::string phase = JsonStringAt(vb, {"status", "phase"});
          return phase == "Complete" || phase == "Failed" || phase == "Invalid";
        },
        90s);
    EXPECT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete")
        << c.name << ": " << DumpJson(vb) << ours->Log();
    EXPECT_FALSE(JsonStringAt(vb, {"status", "commitTs"}).empty()) << DumpJson(vb);
    for (const char* cluster : {"c1", "c2"}) {
      Json member = GetMember(cluster, c.name);
      EXPECT_EQ(JsonStringAt(member, {"metadata", "labels", kManagedBy}), "br-federation-manager")
          << c.name << " " << cluster << ": adopted " << DumpJson(member);
      EXPECT_EQ(JsonStringAt(member, {"metadata", "labels", "team"}), "db") << DumpJson(member);
      auto list = dp_.at(cluster)->List(kube::resources::Backup(), kTcNs, {});
      ASSERT_TRUE(list.ok());
      int with_prefix = 0;
      for (const auto& item : (*list)["items"]) {
        if (JsonStringAt(item, {"spec", "s3", "prefix"}) == std::string(c.name) + "-" + cluster) {
          ++with_prefix;
        }
      }
      EXPECT_EQ(with_prefix, 1) << c.name << " " << cluster << ": no duplicate member";
    }
    EXPECT_NE(ours->Log().find("Adopted"), std::string::npos) << ours->Log();
    EXPECT_TRUE(WaitFor([] { return !PdPaused(); })) << c.name << ": the GC pause is released";
    ExpectUpstreamMetrics(ours->Metrics());
    ours.reset();
  }
}

TEST_F(HandOver, DeletingAGoEraBackupDeletesItsMembers) {
  const std::string name = "go-deleted";
  PlayGoManager(name, GoPhase::kTeardown);
  if (HasFatalFailure()) return;
  WaitMember("c1", name, "Complete");
  WaitMember("c2", name, "Complete");
  Json status = {{"phase", "Complete"},
                 {"conditions",
                  {{{"type", "Complete"},
                    {"status", "True"},
                    {"lastTransitionTime", "2026-01-01T00:01:00Z"}}}}};
  ASSERT_TRUE(PatchGoStatus(name, status).ok());
  ASSERT_TRUE(cp_->Delete(kube::resources::VolumeBackup(), kNs, name).ok());
  auto ours = StartOurs("ours-delete");
  ASSERT_NE(ours, nullptr);
  EXPECT_TRUE(WaitFor([&] { return GetVolumeBackup(name).is_null(); }, 90s))
      << DumpJson(GetVolumeBackup(name)) << ours->Log();
  for (const char* cluster : {"c1", "c2"}) {
    EXPECT_TRUE(WaitFor([&] { return GetMember(cluster, name).is_null(); }))
        << cluster << ": the member is deleted, not leaked: " << DumpJson(GetMember(cluster, name));
  }
}

// A VolumeRestore the Go manager started: its members built as Go builds them (restore-volume,
// the VolumeRestore's labels and annotations, none of our marks) and its Running status; the
// data plane restores the volumes meanwhile. Ours adopts the members and drives them to the end.
TEST_F(HandOver, InFlightGoRestoreCompletes) {
  const std::string source = "go-restore-source";
  PlayGoManager(source, GoPhase::kTeardown);
  if (HasFatalFailure()) return;
  {
    auto finisher = StartOurs("ours-restore-source");
    ASSERT_NE(finisher, nullptr);
    ASSERT_TRUE(WaitFor(
        [&] {
          return JsonStringAt(GetVolumeBackup(source), {"status", "phase"}) == "Complete";
        },
        90s))
        << DumpJson(GetVolumeBackup(source)) << finisher->Log();
  }
  const std::string name = "go-restore";
  Json vr = {
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeRestore"},
      {"metadata",
       {{"name", name},
        {"namespace", kNs},
        {"labels", {{"team", "db"}}},
        {"annotations", {{"example.com/ticket", "42"}}},
        {"finalizers", {"tidb.pingcap.com/restore-protection"}}}},
      {"spec", {{"clusters", Json::array()}, {"template", {{"br", {{"sendCredToTikv", false}}}}}}}};
  for (const char* c : {"c1", "c2"}) {
    vr["spec"]["clusters"].push_back({{"k8sClusterName", c},
                                      {"tcName", "basic"},
                                      {"tcNamespace", kTcNs},
                                      {"azName", std::string("us-west-2-") + c},
                                      {"backup", {{"s3", GetMember(c, source)["spec"]["s3"]}}}});
  }
  ASSERT_TRUE(cp_->Create(kube::resources::VolumeRestore(), kNs, vr).ok());
  Json status = {
      {"phase", "Running"},
      {"timeStarted", "2026-01-01T00:00:00Z"},
      {"conditions",
       {{{"type", "Running"}, {"status", "True"}, {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}},
      {"restores", Json::array()}};
  const Status prepared = env_->PrepareRestoreTargets({"c1", "c2"});
  ASSERT_TRUE(prepared.ok()) << prepared.ToString() << env_->SimLog();
  for (const char* c : {"c1", "c2"}) {
    Json member = {
        {"apiVersion", "pingcap.com/v1alpha1"},
        {"kind", "Restore"},
        {"metadata",
         {{"name", "fed-" + name},
          {"namespace", kTcNs},
          {"labels", vr["metadata"]["labels"]},
          {"annotations", vr["metadata"]["annotations"]}}},
        {"spec",
         {{"restoreMode", "volume-snapshot"},
          {"backupType", "full"},
          {"federalVolumeRestorePhase", "restore-volume"},
          {"s3", GetMember(c, source)["spec"]["s3"]},
          {"volumeAZ", std::string("us-west-2-") + c},
          {"br", {{"cluster", "basic"}, {"clusterNamespace", kTcNs}, {"sendCredToTikv", false}}}}}};
    auto created = dp_.at(c)->Create(kube::resources::Restore(), kTcNs, member);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    status["restores"].push_back({{"k8sClusterName", c},
                                  {"tcName", "basic"},
                                  {"tcNamespace", kTcNs},
                                  {"restoreName", "fed-" + name},
                                  {"phase", "Running"}});
  }
  ASSERT_TRUE(PatchGoStatus(name, status, kube::resources::VolumeRestore()).ok());
  auto get_member = [&](const char* c) {
    auto r = dp_.at(c)->Get(kube::resources::Restore(), kTcNs, "fed-" + name);
    return r.ok() ? *r : Json();
  };
  for (const char* c : {"c1", "c2"}) {
    ASSERT_TRUE(WaitFor([&] { return TrueCondition(get_member(c), "VolumeComplete"); }, 60s))
        << c << " never restored its volumes: " << DumpJson(get_member(c)) << env_->SimLog();
  }

  auto ours = StartOurs("ours-restore");
  ASSERT_NE(ours, nullptr);
  Json seen;
  WaitFor(
      [&] {
        auto r = cp_->Get(kube::resources::VolumeRestore(), kNs, name);
        if (r.ok()) seen = *r;
        const std::string phase = JsonStringAt(seen, {"status", "phase"});
        return phase == "Complete" || phase == "Failed" || phase == "Invalid";
      },
      120s);
  EXPECT_EQ(JsonStringAt(seen, {"status", "phase"}), "Complete") << DumpJson(seen) << ours->Log();
  for (const char* c : {"c1", "c2"}) {
    Json member = get_member(c);
    EXPECT_EQ(JsonStringAt(member, {"metadata", "labels", kManagedBy}), "br-federation-manager")
        << c << ": adopted " << DumpJson(member);
    EXPECT_EQ(JsonStringAt(member, {"metadata", "labels", "team"}), "db") << DumpJson(member);
    EXPECT_TRUE(TrueCondition(member, "Complete")) << DumpJson(member);
  }
  EXPECT_NE(ours->Log().find("Adopted"), std::string::npos) << ours->Log();
}

TEST_F(HandOver, ZzAuditLogIsClean) {
  auto result = env_->CheckAuditLog();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace brfed
