// Integration: two API server processes (two Kubernetes clusters; tests/harness picks
// brfed-apiserver or kube-apiserver) and one tidb-operator-sim
// process with --zero-latency. Tests write Backup/Restore members by hand, as the federation
// would, and check the exact condition sequences the simulator persisted (from its audit log),
// the status fields, the admin endpoint, and the audit-log invariants.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "sim/audit.h"
#include "sim/conditions.h"
#include "tests/harness/harness.h"

namespace brfed::sim {
namespace {

namespace fs = std::filesystem;
using V = std::vector<std::string>;
using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::Process;
using testing::ReadFile;

// Starts argv[0] with argv[1..] and stdout and stderr in one file.
std::unique_ptr<Process> StartLogged(const std::vector<std::string>& argv, const fs::path& out) {
  testing::ProcessOptions o;
  o.binary = argv.at(0);
  o.args.assign(argv.begin() + 1, argv.end());
  o.stdout_path = o.stderr_path = out.string();
  Result<std::unique_ptr<Process>> p = Process::Start(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

// The exit code of a process started by StartLogged, or -1 when it did not start or end.
int ExitCode(const std::unique_ptr<Process>& p, std::chrono::milliseconds limit) {
  if (p == nullptr) return -1;
  Result<int> code = p->Wait(limit);
  return code.ok() ? *code : -1;
}

const std::string kBin = BRFED_BINARY_DIR;
const std::string kSrc = BRFED_SOURCE_DIR;

class SimEnv : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("brfed-sim-it-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"c1", "c2"}) {
      testing::ApiServerOptions o;
      o.dir = dir_.string();
      o.name = name;
      o.extra_args = testing::DataPlaneCrdArgs(testing::TestBackend());
      o.extra_args.insert(o.extra_args.end(), {"--log-level", "warn"});
      // Only brfed-apiserver injects faults (the tests that use them are filtered out on kube).
      if (testing::TestBackend() == testing::Backend::kBrfedApiServer) {
        o.extra_args.push_back("--enable-fault-injection");
      }
      Result<testing::ApiServer> server = testing::StartApiServer(o);
      ASSERT_TRUE(server.ok()) << server.status().ToString();
      auto config = kube::Kubeconfig::LoadFile(server->kubeconfig);
      ASSERT_TRUE(config.ok()) << config.status().message();
      auto rest = config->ForContext("");
      ASSERT_TRUE(rest.ok());
      server_urls_[name] = rest->server;
      auto client = kube::NewClient(*rest);
      ASSERT_TRUE(client.ok());
      clients_[name] = *client;
      servers_.push_back(std::move(server).value());
    }
    audit_ = dir_ / "audit.log";
    sim_ = StartLogged(
        std::vector<std::string>{kBin + "/src/sim/tidb-operator-sim", "--cluster",
                                 "c1=" + (dir_ / "c1.kubeconfig").string(), "--cluster",
                                 "c2=" + (dir_ / "c2.kubeconfig").string(), "--zero-latency",
                                 "--tikv-per-cluster", "2", "--volumes-per-store", "2",
                                 "--audit-log", audit_.string(), "--admin-addr", "127.0.0.1:0"},
        dir_ / "sim.log");
    ASSERT_TRUE(testing::WaitFor([&] {
      return ReadFile(dir_ / "sim.log").find("admin-port ") != std::string::npos;
    })) << ReadFile(dir_ / "sim.log");
    std::string log = ReadFile(dir_ / "sim.log");
    admin_port_ = std::stoi(log.substr(log.find("admin-port ") + 11));
  }
  static void TearDownTestSuite() {
    if (sim_ != nullptr) {
      sim_->Terminate();
      (void)sim_->Wait(seconds(30));
    }
    sim_.reset();
    servers_.clear();
    clients_.clear();
    std::error_code ec;
    if (getenv("BRFED_KEEP_TEST_DIR") == nullptr) fs::remove_all(dir_, ec);
  }

  static kube::Client& C(const std::string& cluster) { return *clients_.at(cluster); }
  static const kube::Resource& Res(bool backup) {
    return backup ? kube::resources::Backup() : kube::resources::Restore();
  }

  static Json Member(bool backup, const std::string& name, Json spec) {
    return {{"apiVersion", "pingcap.com/v1alpha1"},
            {"kind", backup ? "Backup" : "Restore"},
            {"metadata", {{"name", name}, {"namespace", "tidb"}}},
            {"spec", std::move(spec)}};
  }
  static Json BackupSpec(const std::string& phase, const std::string& prefix) {
    return {{"backupMode", "volume-snapshot"},
            {"backupType", "full"},
            {"federalVolumeBackupPhase", phase},
            {"br", {{"cluster", "basic"}, {"clusterNamespace", "tidb"}}},
            {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", prefix}}}};
  }
  static Json RestoreSpec(const std::string& prefix) {
    return {{"restoreMode", "volume-snapshot"},
            {"backupType", "full"},
            {"federalVolumeRestorePhase", "restore-volume"},
            {"br", {{"cluster", "basic"}, {"clusterNamespace", "tidb"}}},
            {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", prefix}}}};
  }
  void Create(const std::string& cluster, bool backup, const std::string& name, Json spec) {
    auto r = C(cluster).Create(Res(backup), "tidb", Member(backup, name, std::move(spec)));
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  Json Get(const std::string& cluster, bool backup, const std::string& name) {
    auto r = C(cluster).Get(Res(backup), "tidb", name);
    return r.ok() ? *r : Json();
  }
  // Changes the spec as the federation does: read, modify, full Update, retry on conflict.
  void Patch(const std::string& cluster, bool backup, const std::string& name,
             const std::function<void(Json& spec)>& f) {
    for (int i = 0; i < 20; ++i) {
      auto obj = C(cluster).Get(Res(backup), "tidb", name);
      ASSERT_TRUE(obj.ok()) << obj.status().message();
      f((*obj)["spec"]);
      auto r = C(cluster).Update(Res(backup), *obj);
      if (r.ok()) return;
      // kInternal: an injected 500 (FlakyApiServerWritesAreRetriedNotDropped).
      ASSERT_TRUE(r.status().code() == Code::kConflict || r.status().code() == Code::kInternal)
          << r.status().message();
    }
    FAIL() << "spec update kept conflicting";
  }
  bool WaitTrue(const std::string& cluster, bool backup, const std::string& name,
                const std::string& type) {
    return testing::WaitFor([&] { return IsTrue(Get(cluster, backup, name), type); });
  }
  // Phases after every condition the simulator persisted on cluster/name, from the audit log.
  V Phases(const std::string& cluster, const std::string& name) {
    V out;
    std::stringstream lines(ReadFile(audit_));
    std::string line;
    while (std::getline(lines, line)) {
      auto e = ParseJson(line);
      if (!e.ok() || JsonStringAt(*e, {"event"}) != "condition") continue;
      if (JsonStringAt(*e, {"cluster"}) == cluster && JsonStringAt(*e, {"name"}) == name) {
        out.push_back(JsonStringAt(*e, {"phase"}));
      }
    }
    return out;
  }
  // The audit line of a write lands just after the write itself: wait for the sequence.
  void ExpectPhases(const std::string& cluster, const std::string& name, const V& want) {
    EXPECT_TRUE(testing::WaitFor([&] { return Phases(cluster, name) == want; }, seconds(10)))
        << ::testing::PrintToString(Phases(cluster, name));
  }
  std::string Reason(const std::string& cluster, bool backup, const std::string& name,
                     const std::string& type) {
    Json obj = Get(cluster, backup, name);
    const Json* c = FindCondition(obj, type);
    return c == nullptr ? "" : JsonStringAt(*c, {"reason"});
  }
  // Sets brfed-apiserver fault rules on one data plane (docs/apiserver.md).
  static void SetApiFaults(const std::string& cluster, const Json& rules) {
    httplib::Client cli(server_urls_.at(cluster));
    cli.set_read_timeout(10, 0);
    httplib::Result r =
        rules.empty() ? cli.Delete("/admin/faults")
                      : cli.Post("/admin/faults", DumpJson({{"rules", rules}}), "application/json");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  }
  static std::pair<int, std::string> Admin(const std::string& method, const std::string& path,
                                           const std::string& body = "") {
    httplib::Client cli("127.0.0.1", admin_port_);
    cli.set_read_timeout(10, 0);
    httplib::Result r = method == "GET"    ? cli.Get(path.c_str())
                        : method == "POST" ? cli.Post(path.c_str(), body, "application/json")
                                           : cli.Delete(path.c_str());
    if (!r) return {0, ""};
    return {r->status, r->body};
  }

  // The federation's backup protocol by hand, for member fed-<name> in c1 (init) and c2.
  void FullBackup(const std::string& name, Json extra = Json::object()) {
    std::string m = "fed-" + name;
    Json s1 = BackupSpec("initialize", name + "-c1");
    s1.update(extra);
    Create("c1", true, m, s1);
    ASSERT_TRUE(WaitTrue("c1", true, m, "VolumeBackupInitialized"));
    Patch("c1", true, m, [](Json& s) { s["federalVolumeBackupPhase"] = "execute"; });
    Json s2 = BackupSpec("execute", name + "-c2");
    s2.update(extra);
    Create("c2", true, m, s2);
    ASSERT_TRUE(WaitTrue("c1", true, m, "VolumeBackupSnapshotsCreated"));
    ASSERT_TRUE(WaitTrue("c2", true, m, "VolumeBackupSnapshotsCreated"));
    Patch("c1", true, m, [](Json& s) { s["resumeGcSchedule"] = true; });
    ASSERT_TRUE(WaitTrue("c1", true, m, "VolumeBackupInitializeComplete"));
    for (const char* c : {"c1", "c2"}) {
      ASSERT_TRUE(testing::WaitFor([&] {
        return JsonAt(Get(c, true, m), {"status", "backupSize"});
      }));
    }
    for (const char* c : {"c1", "c2"}) {
      Patch(c, true, m, [](Json& s) { s["federalVolumeBackupPhase"] = "teardown"; });
    }
    ASSERT_TRUE(WaitTrue("c1", true, m, "Complete"));
    ASSERT_TRUE(WaitTrue("c2", true, m, "Complete"));
  }

  static inline fs::path dir_;
  static inline fs::path audit_;
  static inline std::vector<testing::ApiServer> servers_;
  static inline std::unique_ptr<Process> sim_;
  static inline std::map<std::string, std::shared_ptr<kube::Client>> clients_;
  static inline int admin_port_ = 0;
  static inline std::map<std::string, std::string> server_urls_;
};

TEST_F(SimEnv, CreatesTidbClustersAcrossK8s) {
  for (const char* c : {"c1", "c2"}) {
    auto tc = C(c).Get(kube::resources::TidbCluster(), "tidb", "basic");
    ASSERT_TRUE(tc.ok()) << tc.status().message();
    EXPECT_TRUE(JsonBoolAt(*tc, {"spec", "acrossK8s"}));
    EXPECT_EQ(JsonIntAt(*tc, {"spec", "tikv", "replicas"}), 2);
    EXPECT_EQ(JsonAt(*tc, {"status", "tikv", "stores"})->size(), 2u);
  }
}

TEST_F(SimEnv, BackupSuccessPath) {
  FullBackup("ok");
  // With --zero-latency the snapshots complete at once, so VolumeBackupComplete precedes the
  // resume (with realistic timing it usually follows it; the unit tests cover that order).
  ExpectPhases("c1", "fed-ok",
               (V{"Scheduled", "Running", "VolumeBackupInitialized", "Scheduled", "Prepare",
                  "Running", "VolumeBackupSnapshotsCreated", "VolumeBackupComplete",
                  "VolumeBackupInitializeComplete", "Complete"}));
  ExpectPhases("c2", "fed-ok",
               (V{"Scheduled", "Prepare", "Running", "VolumeBackupSnapshotsCreated",
                  "VolumeBackupComplete", "Complete"}));
  Json b = Get("c2", true, "fed-ok");
  EXPECT_EQ(JsonStringAt(b, {"status", "backupPath"}), "s3://bk/ok-c2");
  EXPECT_EQ(JsonIntAt(b, {"status", "backupSize"}), int64_t{4} * (int64_t{100} << 30));
  EXPECT_EQ(JsonStringAt(b, {"status", "backupSizeReadable"}), "430 GB");
  EXPECT_FALSE(JsonStringAt(b, {"status", "commitTs"}).empty());
  EXPECT_EQ(JsonStringAt(b, {"status", "phase"}), "Complete");
}

// Issue 18, finding 9: under 5xx, a failed member write was dropped while the model moved on,
// so a member never wrote VolumeBackupComplete. Every write must land eventually.
TEST_F(SimEnv, FlakyApiServerWritesAreRetriedNotDropped) {
  const Json rules = Json::array(
      {{{"verb", "update"}, {"resource", "backups"}, {"failFraction", 0.4}, {"failCode", 500}}});
  for (const char* c : {"c1", "c2"}) SetApiFaults(c, rules);
  for (int i = 0; i < 3; ++i) FullBackup("flaky" + std::to_string(i));
  for (const char* c : {"c1", "c2"}) SetApiFaults(c, Json::array());
  for (int i = 0; i < 3; ++i) {
    for (const char* c : {"c1", "c2"}) {
      Json b = Get(c, true, "fed-flaky" + std::to_string(i));
      EXPECT_EQ(JsonStringAt(b, {"status", "phase"}), "Complete") << c << " " << i;
      EXPECT_TRUE(IsTrue(b, "VolumeBackupComplete")) << c << " " << i;
    }
  }
  // The simulator logged the injected failures it retried.
  EXPECT_NE(ReadFile(dir_ / "sim.log").find("write failed; retrying"), std::string::npos);
}

// A data plane whose API server does not answer must hold up only its own members: the
// simulator's writes to c1 take 10 s (injected latency), and meanwhile c2's member is written.
// With one lock (or one worker) across member writes, c2's write waited for c1's.
TEST_F(SimEnv, SlowDataPlaneDoesNotStallTheOthers) {
  SetApiFaults("c1",
               Json::array({{{"verb", "update"}, {"resource", "backups"}, {"latencyMs", 10000}}}));
  for (const char* spec : {"invalid@c1/fed-stalled", "invalid@c2/fed-free"}) {
    ASSERT_EQ(Admin("POST", "/faults", DumpJson({{"fault", spec}})).first, 201) << spec;
  }
  Create("c1", true, "fed-stalled", BackupSpec("initialize", "stalled-c1"));
  Create("c2", true, "fed-free", BackupSpec("initialize", "free-c2"));
  ASSERT_TRUE(WaitTrue("c2", true, "fed-free", "Invalid"));
  // Ordering, not timing: c1's first write has not landed yet when c2's has.
  EXPECT_EQ(Get("c1", true, "fed-stalled").value("status", Json()), Json())
      << "c2's member was written only after c1's slow write";
  // The admin endpoint answers while c1's write is still under way.
  EXPECT_EQ(Admin("GET", "/faults").first, 200);
  SetApiFaults("c1", Json::array());
  EXPECT_TRUE(testing::WaitFor([&] { return IsTrue(Get("c1", true, "fed-stalled"), "Invalid"); },
                               seconds(90)));
  EXPECT_EQ(Admin("DELETE", "/faults?kind=invalid").first, 200);
}

TEST_F(SimEnv, InitializeFailsViaAdminFault) {
  auto [code, body] = Admin("POST", "/faults", R"({"fault":"init-fail@c1/fed-initfail"})");
  ASSERT_EQ(code, 201) << body;
  Create("c1", true, "fed-initfail", BackupSpec("initialize", "initfail-c1"));
  ASSERT_TRUE(WaitTrue("c1", true, "fed-initfail", "VolumeBackupInitializeFailed"));
  EXPECT_EQ(Reason("c1", true, "fed-initfail", "VolumeBackupInitializeFailed"),
            "InitializeVolumeBackupFailed");
  Patch("c1", true, "fed-initfail", [](Json& s) { s["federalVolumeBackupPhase"] = "teardown"; });
  ASSERT_TRUE(WaitTrue("c1", true, "fed-initfail", "Failed"));
  ExpectPhases("c1", "fed-initfail",
               (V{"Scheduled", "Running", "VolumeBackupInitializeFailed", "Failed"}));
  EXPECT_EQ(Admin("DELETE", "/faults?kind=init-fail").first, 200);
}

TEST_F(SimEnv, InitJobDeadlineExceeded) {
  Json spec = BackupSpec("initialize", "deadline-c1");
  spec["volumeBackupInitJobMaxActiveSeconds"] = 1;
  Create("c1", true, "fed-deadline", spec);
  ASSERT_TRUE(WaitTrue("c1", true, "fed-deadline", "VolumeBackupInitializeFailed"));
  EXPECT_EQ(Reason("c1", true, "fed-deadline", "VolumeBackupInitializeFailed"),
            "InitializeJobCompletedOrFailed");
  ExpectPhases(
      "c1", "fed-deadline",
      (V{"Scheduled", "Running", "VolumeBackupInitialized", "VolumeBackupInitializeFailed"}));
}

TEST_F(SimEnv, InitJobDeletedExternally) {
  ASSERT_EQ(Admin("POST", "/faults", R"({"fault":"init-job-deleted@c1/fed-jobgone"})").first, 201);
  Create("c1", true, "fed-jobgone", BackupSpec("initialize", "jobgone-c1"));
  ASSERT_TRUE(WaitTrue("c1", true, "fed-jobgone", "VolumeBackupInitializeFailed"));
  EXPECT_EQ(Reason("c1", true, "fed-jobgone", "VolumeBackupInitializeFailed"),
            "InitializeJobDeleted");
  ExpectPhases(
      "c1", "fed-jobgone",
      (V{"Scheduled", "Running", "VolumeBackupInitialized", "VolumeBackupInitializeFailed"}));
}

TEST_F(SimEnv, ExecutePodDies) {
  ASSERT_EQ(Admin("POST", "/faults", R"({"fault":"execute-pod-dies@c2/fed-poddies"})").first, 201);
  Create("c2", true, "fed-poddies", BackupSpec("execute", "poddies-c2"));
  ASSERT_TRUE(WaitTrue("c2", true, "fed-poddies", "VolumeBackupFailed"));
  EXPECT_EQ(Reason("c2", true, "fed-poddies", "VolumeBackupFailed"), "AlreadyFailed");
  Patch("c2", true, "fed-poddies", [](Json& s) { s["federalVolumeBackupPhase"] = "teardown"; });
  ASSERT_TRUE(WaitTrue("c2", true, "fed-poddies", "Failed"));
  ExpectPhases("c2", "fed-poddies",
               (V{"Scheduled", "Prepare", "Running", "VolumeBackupFailed", "Failed"}));
}

TEST_F(SimEnv, SnapshotCreationFails) {
  ASSERT_EQ(Admin("POST", "/faults", R"({"fault":"snapshot-fail@c2/fed-snapfail"})").first, 201);
  Create("c2", true, "fed-snapfail", BackupSpec("execute", "snapfail-c2"));
  ASSERT_TRUE(WaitTrue("c2", true, "fed-snapfail", "VolumeBackupFailed"));
  EXPECT_EQ(Reason("c2", true, "fed-snapfail", "VolumeBackupFailed"), "BackupDataToRemoteFailed");
  ExpectPhases("c2", "fed-snapfail", (V{"Scheduled", "Prepare", "Running", "VolumeBackupFailed"}));
}

TEST_F(SimEnv, InvalidMemberAndBadInput) {
  Json spec = BackupSpec("initialize", "x");
  spec["s3"].erase("bucket");
  Create("c1", true, "fed-nobucket", spec);
  ASSERT_TRUE(WaitTrue("c1", true, "fed-nobucket", "Invalid"));
  EXPECT_EQ(Reason("c1", true, "fed-nobucket", "Invalid"), "InvalidSpec");
  Json wrong_tc = BackupSpec("initialize", "y");
  wrong_tc["br"]["cluster"] = "nosuch";
  Create("c1", true, "fed-notc", wrong_tc);
  ASSERT_TRUE(WaitTrue("c1", true, "fed-notc", "RetryFailed"));
  EXPECT_EQ(Reason("c1", true, "fed-notc", "RetryFailed"),
            "failed to fetch tidbcluster tidb/nosuch");
  Json snapshot_mode = BackupSpec("initialize", "z");
  snapshot_mode["backupMode"] = "snapshot";
  Create("c1", true, "fed-othermode", snapshot_mode);
  // Not volume-snapshot: ignored. A later object proves the simulator looked at it by now.
  Json later = BackupSpec("initialize", "w");
  later["s3"].erase("bucket");
  Create("c1", true, "fed-later", later);
  ASSERT_TRUE(WaitTrue("c1", true, "fed-later", "Invalid"));
  EXPECT_TRUE(Phases("c1", "fed-othermode").empty());
}

TEST_F(SimEnv, CleanupDeletePolicyDeletesSnapshots) {
  FullBackup("clean", {{"cleanPolicy", "Delete"}, {"cleanOption", {{"snapshotsDeleteRatio", 2}}}});
  Json b = Get("c2", true, "fed-clean");
  EXPECT_EQ(b["metadata"]["finalizers"], Json::array({"tidb.pingcap.com/backup-protection"}));
  ASSERT_TRUE(C("c2").Delete(kube::resources::Backup(), "tidb", "fed-clean").ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Get("c2", true, "fed-clean").is_null(); }));
  V phases = Phases("c2", "fed-clean");
  ASSERT_GE(phases.size(), 2u);
  EXPECT_EQ(V(phases.end() - 2, phases.end()), (V{"Clean", "Clean"}));  // False, then True
}

TEST_F(SimEnv, CleanFailureIsSticky) {
  FullBackup("cleanfail", {{"cleanPolicy", "Delete"}});
  ASSERT_EQ(Admin("POST", "/faults", R"({"fault":"clean-fail@c2/fed-cleanfail"})").first, 201);
  ASSERT_TRUE(C("c2").Delete(kube::resources::Backup(), "tidb", "fed-cleanfail").ok());
  ASSERT_TRUE(WaitTrue("c2", true, "fed-cleanfail", "CleanFailed"));
  EXPECT_EQ(Reason("c2", true, "fed-cleanfail", "CleanFailed"), "CleanBackupDataFailed");
  EXPECT_FALSE(Get("c2", true, "fed-cleanfail").is_null());
}

// The user's step before a restore: recoveryMode on every TidbCluster, seen by the simulator.
void SetRecoveryMode(SimEnv& env) {
  for (const char* c : {"c1", "c2"}) {
    for (int i = 0; i < 20; ++i) {
      auto tc = env.C(c).Get(kube::resources::TidbCluster(), "tidb", "basic");
      ASSERT_TRUE(tc.ok());
      (*tc)["spec"]["recoveryMode"] = true;
      if (env.C(c).Update(kube::resources::TidbCluster(), *tc).ok()) break;
    }
  }
  ASSERT_TRUE(testing::WaitFor([&] {
    auto state = ParseJson(env.Admin("GET", "/state").second);
    if (!state.ok()) return false;
    for (const char* c : {"c1/tidb/basic", "c2/tidb/basic"}) {
      if (!JsonBoolAt(*state, {"tidbclusters", c, "recoveryMode"})) return false;
    }
    return true;
  }));
}

TEST_F(SimEnv, RestoreNoWarmupFullFlow) {
  FullBackup("src");
  SetRecoveryMode(*this);
  Create("c1", false, "fed-rt", RestoreSpec("src-c1"));
  Create("c2", false, "fed-rt", RestoreSpec("src-c2"));
  ASSERT_TRUE(WaitTrue("c1", false, "fed-rt", "TikvComplete"));
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rt", "TikvComplete"));
  auto tc1 = C("c1").Get(kube::resources::TidbCluster(), "tidb", "basic");
  EXPECT_EQ(JsonStringAt(*tc1, {"metadata", "annotations", "tidb.pingcap.com/tikv-volumes-ready"}),
            "tidb/fed-rt");
  auto ts = [&](const char* c) {
    return std::stoull(JsonStringAt(Get(c, false, "fed-rt"), {"status", "commitTs"}));
  };
  std::string data = ts("c1") <= ts("c2") ? "c1" : "c2";
  std::string other = data == "c1" ? "c2" : "c1";
  Patch(data, false, "fed-rt", [](Json& s) { s["federalVolumeRestorePhase"] = "restore-data"; });
  ASSERT_TRUE(WaitTrue(data, false, "fed-rt", "DataComplete"));
  for (const char* c : {"c1", "c2"}) {
    Patch(c, false, "fed-rt", [](Json& s) { s["federalVolumeRestorePhase"] = "restore-finish"; });
  }
  ASSERT_TRUE(WaitTrue("c1", false, "fed-rt", "Complete"));
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rt", "Complete"));
  ExpectPhases(
      data, "fed-rt",
      (V{"Scheduled", "Running", "VolumeComplete", "TikvComplete", "DataComplete", "Complete"}));
  ExpectPhases(other, "fed-rt",
               (V{"Scheduled", "Running", "VolumeComplete", "TikvComplete", "Complete"}));
  tc1 = C("c1").Get(kube::resources::TidbCluster(), "tidb", "basic");
  EXPECT_FALSE(JsonBoolAt(*tc1, {"spec", "recoveryMode"}, true));
  EXPECT_EQ(JsonAt(*tc1, {"metadata", "annotations", "tidb.pingcap.com/tikv-volumes-ready"}),
            nullptr);
}

TEST_F(SimEnv, RestoreSyncWarmup) {
  FullBackup("srcsync");
  SetRecoveryMode(*this);
  Json spec = RestoreSpec("srcsync-c1");
  spec["warmup"] = "sync";
  spec["warmupImage"] = "warmup:latest";
  Create("c1", false, "fed-rtsync", spec);
  ASSERT_TRUE(WaitTrue("c1", false, "fed-rtsync", "TikvComplete"));
  ExpectPhases("c1", "fed-rtsync",
               (V{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted", "WarmUpComplete",
                  "TikvComplete"}));
}

TEST_F(SimEnv, RestoreCheckWalOnlyCorruption) {
  FullBackup("srcwal");
  SetRecoveryMode(*this);
  ASSERT_EQ(Admin("POST", "/faults", R"({"fault":"warmup-fail@c2/fed-rtwal"})").first, 201);
  Json spec = RestoreSpec("srcwal-c2");
  spec["warmup"] = "sync";
  spec["warmupImage"] = "warmup:latest";
  spec["warmupStrategy"] = "check-wal-only";
  Create("c2", false, "fed-rtwal", spec);
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtwal", "Failed"));
  EXPECT_EQ(Reason("c2", false, "fed-rtwal", "Failed"), "BackoffLimitExceeded");
  ExpectPhases("c2", "fed-rtwal",
               (V{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted", "Failed"}));
}

TEST_F(SimEnv, RestoreVolumeFailureCleansVolumes) {
  FullBackup("srcvolfail");
  SetRecoveryMode(*this);
  ASSERT_EQ(
      Admin("POST", "/faults", R"({"fault":"restore-volume-fail@c1/fed-rtvol,after-meta"})").first,
      201);
  Create("c1", false, "fed-rtvol", RestoreSpec("srcvolfail-c1"));
  ASSERT_TRUE(WaitTrue("c1", false, "fed-rtvol", "CleanVolumeComplete"));
  EXPECT_EQ(Reason("c1", false, "fed-rtvol", "Failed"), "RestoreDataFromRemoteFailed");
  ExpectPhases("c1", "fed-rtvol", (V{"Scheduled", "Running", "Failed", "CleanVolumeComplete"}));
}

TEST_F(SimEnv, RestoreDataFails) {
  FullBackup("srcdatafail");
  SetRecoveryMode(*this);
  ASSERT_EQ(Admin("POST", "/faults", R"({"fault":"restore-data-fail@c2/fed-rtdata"})").first, 201);
  Create("c2", false, "fed-rtdata", RestoreSpec("srcdatafail-c2"));
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtdata", "TikvComplete"));
  Patch("c2", false, "fed-rtdata",
        [](Json& s) { s["federalVolumeRestorePhase"] = "restore-data"; });
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtdata", "Failed"));
  EXPECT_EQ(Reason("c2", false, "fed-rtdata", "Failed"), "RestoreDataFromRemoteFailed");
  // The data pod's Running re-assertion is not persisted (a.7), so TikvComplete -> Failed.
  ExpectPhases("c2", "fed-rtdata",
               (V{"Scheduled", "Running", "VolumeComplete", "TikvComplete", "Failed"}));
}

TEST_F(SimEnv, RestoreAsyncWarmup) {
  FullBackup("srcasync");
  SetRecoveryMode(*this);
  Json spec = RestoreSpec("srcasync-c2");
  spec["warmup"] = "async";
  spec["warmupImage"] = "warmup:latest";
  Create("c2", false, "fed-rtasync", spec);
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtasync", "TikvComplete"));
  ExpectPhases("c2", "fed-rtasync",
               (V{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted", "TikvComplete"}));
  // WarmUpComplete only when reconciled in a later phase (here restore-data).
  Patch("c2", false, "fed-rtasync",
        [](Json& s) { s["federalVolumeRestorePhase"] = "restore-data"; });
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtasync", "WarmUpComplete"));
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtasync", "DataComplete"));
  Patch("c2", false, "fed-rtasync",
        [](Json& s) { s["federalVolumeRestorePhase"] = "restore-finish"; });
  ASSERT_TRUE(WaitTrue("c2", false, "fed-rtasync", "Complete"));
}

TEST_F(SimEnv, RestoreInvalidWithoutBackupmeta) {
  SetRecoveryMode(*this);
  Create("c1", false, "fed-rtnometa", RestoreSpec("no-such-backup"));
  ASSERT_TRUE(WaitTrue("c1", false, "fed-rtnometa", "Invalid"));
  EXPECT_EQ(Reason("c1", false, "fed-rtnometa", "Invalid"), "InvalidSpec");
}

TEST_F(SimEnv, AdminEndpointValidatesAndDumpsState) {
  EXPECT_EQ(Admin("GET", "/healthz").first, 200);
  auto [code, body] = Admin("GET", "/state");
  ASSERT_EQ(code, 200);
  auto state = ParseJson(body);
  ASSERT_TRUE(state.ok()) << body;
  EXPECT_EQ((*state)["clusters"], Json::array({"c1", "c2"}));
  EXPECT_EQ(Admin("POST", "/faults", R"({"fault":"nope"})").first, 400);
  EXPECT_EQ(Admin("POST", "/faults", "garbage").first, 400);
  EXPECT_EQ(Admin("DELETE", "/faults?kind=nope").first, 400);
}

// Runs last (declaration order): everything above must leave a log that passes the checker,
// and the `check` subcommand must agree; a broken copy must fail it.
TEST_F(SimEnv, ZzAuditLogPassesChecker) {
  std::string text = ReadFile(audit_);
  auto violations = CheckAuditLog(text);
  EXPECT_TRUE(violations.empty()) << (violations.empty() ? "" : violations.front());
  auto ok =
      StartLogged({kBin + "/src/sim/tidb-operator-sim", "check", "--audit-log", audit_.string()},
                  dir_ / "check.out");
  EXPECT_EQ(ExitCode(ok, seconds(30)), 0) << ReadFile(dir_ / "check.out");
  fs::path broken = dir_ / "broken.log";
  std::ofstream(broken) << text << R"({"event":"pd_pause","holder":"leaked#init"})"
                        << "\n";
  auto bad =
      StartLogged({kBin + "/src/sim/tidb-operator-sim", "check", "--audit-log", broken.string()},
                  dir_ / "check-bad.out");
  EXPECT_EQ(ExitCode(bad, seconds(30)), 1);
  EXPECT_NE(ReadFile(dir_ / "check-bad.out").find("leaked#init"), std::string::npos);
}

TEST(SimProcess, BadFlagsExitWithCode2AndAClearMessage) {
  fs::path dir = fs::temp_directory_path() / ("brfed-sim-flags-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path topo = dir / "topology.yaml";
  std::ofstream(topo) << "clusters: [{name: a, tikvStores: 0}]\n";
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{}, "--cluster"},
      {{"--cluster", "nokubeconfig"}, "NAME=KUBECONFIG"},
      {{"--cluster", "a=/x", "--cluster", "a=/y"}, "twice"},
      {{"--cluster", "a=/x", "--speed", "0"}, "--speed"},
      // Issue 18, finding 9: NaN passed the range check and failed every backup at once.
      {{"--cluster", "a=/x", "--speed", "nan"}, "--speed"},
      {{"--cluster", "a=/x", "--speed", "inf"}, "--speed"},
      {{"--cluster", "a=/x", "--speed", "-3"}, "--speed"},
      {{"--cluster", "a=/x", "--snapshot-seconds", "nan"}, "--snapshot-seconds"},
      {{"--cluster", "a=/x", "--snapshot-seconds", "-1"}, "--snapshot-seconds"},
      {{"--cluster", "a=/x", "--snapshot-seconds", "soon"}, "--snapshot-seconds"},
      {{"--cluster", "a=/x", "--volume-size", "huge"}, "--volume-size"},
      {{"--cluster", "a=/x", "--fault", "explode"}, "unknown fault"},
      {{"--cluster", "a=/x", "--topology", topo.string()}, "tikvStores"},
      {{"--cluster", "a=/nonexistent/kubeconfig"}, "cluster a"},
      {{"--no-such-flag"}, "no-such-flag"},
      {{"check"}, "--audit-log"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {kBin + "/src/sim/tidb-operator-sim"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    fs::path out = dir / "out.txt";
    {
      auto p = StartLogged(argv, out);
      EXPECT_EQ(ExitCode(p, seconds(30)), 2) << c.message;
    }
    EXPECT_NE(ReadFile(out).find(c.message), std::string::npos) << ReadFile(out);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace brfed::sim
