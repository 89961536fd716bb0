// Integration: VolumeRestores end to end with real processes: br-federation-manager, a
// control-plane brfed-apiserver, three data-plane brfed-apiservers (c1, c2, c3) and
// tidb-operator-sim (--zero-latency, one TiKV store per cluster). One VolumeBackup is taken
// first; every restore reads it through spec.volumeBackupName. The simulator has ONE TiDB
// cluster, so restores run one after another, each into TidbClusters reset to recovery mode.
// Besides each test's own checks, the simulator's audit log is checked at the end.
#include <gtest/gtest.h>

#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/harness.h"
#include "tests/harness/kube_clients.h"

namespace brfed {
namespace {

using testing::TrueCondition;
using testing::WaitFor;
using namespace std::chrono_literals;

const std::string kNs = "default";
const std::string kBackup = "source";
const std::vector<std::string> kClusters = {"c1", "c2", "c3"};
const std::set<std::string> kTerminal = {"Complete", "Failed", "Invalid"};

std::shared_ptr<kube::Client> ClientFor(const std::string& kubeconfig) {
  auto client = testing::KubeClientFor(kubeconfig);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? *client : nullptr;
}

// What the simulator's audit log says about the members named fed-<name>.
struct RestoreAudit {
  std::map<std::string, std::string> volume_commit_ts;     // cluster -> commitTs
  std::vector<std::pair<std::string, int64_t>> data_runs;  // (cluster, seq)
  int64_t last_tikv_complete_seq = 0;
  int tikv_complete = 0;
  int finished = 0;
  std::string MinCommitTsCluster() const {
    std::string best;
    long long best_ts = LLONG_MAX;
    for (const auto& [cluster, ts] : volume_commit_ts) {
      long long v = std::stoll(ts);
      if (v < best_ts) best_ts = v, best = cluster;
    }
    return best;
  }
};

class RestoreSimEnv : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::FederationEnvOptions options;
    options.ns = kNs;
    options.data_planes = kClusters;
    auto env = testing::FederationEnv::Start(options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    cp_ = ClientFor(env_->control_plane().kubeconfig);
    for (const auto& c : kClusters) dp_[c] = ClientFor(env_->data_plane(c).kubeconfig);
    StartManager();
    ASSERT_NE(manager_, nullptr);

    Json vb = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
               {"kind", "VolumeBackup"},
               {"metadata", {{"name", kBackup}, {"namespace", kNs}}},
               {"spec",
                {{"clusters", Json::array()},
                 {"template",
                  {{"br", {{"sendCredToTikv", false}}},
                   {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", kBackup}}}}}}}};
    for (const auto& c : kClusters) {
      vb["spec"]["clusters"].push_back(
          {{"k8sClusterName", c}, {"tcName", "basic"}, {"tcNamespace", "tidb"}});
    }
    auto created = cp_->Create(kube::resources::VolumeBackup(), kNs, vb);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Json backup;
    WaitFor(
        [&] {
          auto got = cp_->Get(kube::resources::VolumeBackup(), kNs, kBackup);
          if (got.ok()) backup = *got;
          return kTerminal.count(JsonStringAt(backup, {"status", "phase"})) > 0;
        },
        60s);
    ASSERT_EQ(JsonStringAt(backup, {"status", "phase"}), "Complete")
        << DumpJson(backup) << manager_->Log();
  }

  static void TearDownTestSuite() {
    manager_.reset();
    dp_.clear();
    cp_.reset();
    env_.reset();
  }

  static void StartManager() {
    auto m = env_->StartManager("manager-" + std::to_string(manager_starts_++));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    manager_ = m.ok() ? std::move(*m) : nullptr;
  }

  // What an operator does before restoring into a TidbCluster (FederationEnv::
  // PrepareRestoreTargets).
  static void ResetTidbClusters() {
    const Status prepared = env_->PrepareRestoreTargets(kClusters);
    ASSERT_TRUE(prepared.ok()) << prepared.ToString() << env_->SimLog();
  }

  static Json VolumeRestore(const std::string& name, const std::string& warmup = "",
                            const std::string& strategy = "",
                            const std::vector<std::string>& clusters = kClusters,
                            const std::string& backup = kBackup) {
    Json tmpl = {{"br", {{"sendCredToTikv", false}}}};
    if (!warmup.empty()) {
      tmpl["warmup"] = warmup;
      tmpl["warmupImage"] = "pingcap/warmup:test";
    }
    if (!strategy.empty()) tmpl["warmupStrategy"] = strategy;
    Json vr = {
        {"apiVersion", "federation.pingcap.com/v1alpha1"},
        {"kind", "VolumeRestore"},
        {"metadata", {{"name", name}, {"namespace", kNs}}},
        {"spec", {{"volumeBackupName", backup}, {"clusters", Json::array()}, {"template", tmpl}}}};
    for (const auto& c : clusters) {
      vr["spec"]["clusters"].push_back({{"k8sClusterName", c},
                                        {"tcName", "basic"},
                                        {"tcNamespace", "tidb"},
                                        {"azName", "us-west-2-" + c}});
    }
    return vr;
  }

  static void Create(const Json& vr) {
    auto r = cp_->Create(kube::resources::VolumeRestore(), kNs, vr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  static Json Get(const std::string& name) {
    auto r = cp_->Get(kube::resources::VolumeRestore(), kNs, name);
    return r.ok() ? *r : Json();
  }
  static Json WaitPhase(const std::string& name, const std::set<std::string>& phases = kTerminal,
                        std::chrono::milliseconds deadline = 60s) {
    Json vr;
    WaitFor(
        [&] {
          vr = Get(name);
          return phases.count(JsonStringAt(vr, {"status", "phase"})) > 0;
        },
        deadline);
    return vr;
  }
  static Json Member(const std::string& cluster, const std::string& name) {
    auto r = dp_.at(cluster)->Get(kube::resources::Restore(), "tidb", "fed-" + name);
    return r.ok() ? *r : Json();
  }
  static Json TidbCluster(const std::string& cluster) {
    auto r = dp_.at(cluster)->Get(kube::resources::TidbCluster(), "tidb", "basic");
    return r.ok() ? *r : Json();
  }

  static RestoreAudit Audit(const std::string& name) {
    RestoreAudit a;
    std::istringstream lines(testing::ReadFile(env_->audit_log()));
    std::string line;
    while (std::getline(lines, line)) {
      auto e = ParseJson(line);
      if (!e.ok() || JsonStringAt(*e, {"name"}) != "fed-" + name) continue;
      const std::string event = JsonStringAt(*e, {"event"});
      const std::string cluster = JsonStringAt(*e, {"cluster"});
      const int64_t seq = JsonIntAt(*e, {"seq"});
      if (event == "restore_volume_complete") {
        a.volume_commit_ts[cluster] = JsonStringAt(*e, {"commitTs"});
      } else if (event == "tikv_complete") {
        ++a.tikv_complete;
        a.last_tikv_complete_seq = std::max(a.last_tikv_complete_seq, seq);
      } else if (event == "restore_data_run") {
        a.data_runs.emplace_back(cluster, seq);
      } else if (event == "restore_finish") {
        ++a.finished;
      }
    }
    return a;
  }

  // A completed full restore: restore-data exactly once, on the smallest-commitTs member,
  // after every TikvComplete; its commitTs in the status; every member finished.
  static void ExpectRestoredOnce(const std::string& name, const Json& vr) {
    RestoreAudit a = Audit(name);
    ASSERT_EQ(a.volume_commit_ts.size(), kClusters.size()) << name;
    ASSERT_EQ(a.data_runs.size(), 1u) << name << ": restore-data runs exactly once";
    EXPECT_EQ(a.data_runs[0].first, a.MinCommitTsCluster()) << name;
    EXPECT_EQ(a.tikv_complete, static_cast<int>(kClusters.size())) << name;
    EXPECT_GT(a.data_runs[0].second, a.last_tikv_complete_seq) << name;
    EXPECT_EQ(a.finished, static_cast<int>(kClusters.size())) << name;
    EXPECT_EQ(JsonStringAt(vr, {"status", "commitTs"}),
              a.volume_commit_ts.at(a.MinCommitTsCluster()))
        << name;
    for (const auto& c : kClusters) {
      Json m = Member(c, name);
      EXPECT_EQ(JsonStringAt(m, {"spec", "federalVolumeRestorePhase"}), "restore-finish") << c;
      EXPECT_EQ(JsonStringAt(m, {"status", "phase"}), "Complete") << c;
      EXPECT_FALSE(JsonBoolAt(TidbCluster(c), {"spec", "recoveryMode"})) << c;
    }
  }

  static std::string Why(const Json& vr) { return DumpJson(vr) + "\n" + manager_->Log(); }

  static inline std::unique_ptr<testing::FederationEnv> env_;
  static inline std::shared_ptr<kube::Client> cp_;
  static inline std::map<std::string, std::shared_ptr<kube::Client>> dp_;
  static inline std::unique_ptr<testing::ManagerProcess> manager_;
  static inline int manager_starts_ = 0;
};

TEST_F(RestoreSimEnv, RestoreFromTheBackupCompletesInEveryWarmUpMode) {
  struct Case {
    std::string name, warmup, strategy;
  };
  const std::vector<Case> cases = {{"mode-none", "", ""},
                                   {"mode-sync", "sync", ""},
                                   {"mode-async", "async", ""},
                                   {"mode-sync-fsr", "sync", "fsr"},
                                   {"mode-check-wal", "sync", "check-wal-only"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ResetTidbClusters();
    Create(VolumeRestore(c.name, c.warmup, c.strategy));
    Json vr = WaitPhase(c.name);
    ASSERT_EQ(JsonStringAt(vr, {"status", "phase"}), "Complete") << Why(vr);
    EXPECT_NE(TrueCondition(vr, "VolumeComplete"), nullptr);
    EXPECT_FALSE(JsonStringAt(vr, {"status", "timeCompleted"}).empty());
    const Json* restores = JsonAt(vr, {"status", "restores"});
    ASSERT_NE(restores, nullptr);
    EXPECT_EQ(restores->size(), kClusters.size());
    if (!c.warmup.empty()) {
      EXPECT_NE(TrueCondition(vr, "WarmUpComplete"), nullptr) << Why(vr);
    }
    // Each member reads the backup's location of its own cluster.
    for (const auto& cluster : kClusters) {
      Json m = Member(cluster, c.name);
      EXPECT_EQ(JsonStringAt(m, {"spec", "s3", "prefix"}), kBackup + "-" + cluster);
      EXPECT_EQ(JsonStringAt(m, {"spec", "s3", "bucket"}), "bk");
    }
    if (c.strategy == "check-wal-only") {
      RestoreAudit a = Audit(c.name);
      EXPECT_TRUE(a.data_runs.empty()) << "check-wal-only restores no data";
      EXPECT_EQ(a.finished, 0);
      EXPECT_EQ(TrueCondition(vr, "DataComplete"), nullptr);
      // The VolumeRestore completes on every member's WarmUpComplete, as upstream's; each
      // member then ends Complete by itself.
      for (const auto& cluster : kClusters) {
        testing::WaitFor(
            [&] {
              return JsonStringAt(Member(cluster, c.name), {"status", "phase"}) == "Complete";
            },
            30s);
        EXPECT_EQ(JsonStringAt(Member(cluster, c.name), {"status", "phase"}), "Complete");
      }
    } else {
      EXPECT_NE(TrueCondition(vr, "TikvComplete"), nullptr);
      EXPECT_NE(TrueCondition(vr, "DataComplete"), nullptr);
      ExpectRestoredOnce(c.name, vr);
    }
  }
}

TEST_F(RestoreSimEnv, EveryRestoreFaultEndsFailedNamingTheMemberAndReason) {
  struct Case {
    std::string fault, name, cluster, warmup, strategy, reason;
  };
  // restore-data-fail applies to every member; only the smallest-commitTs one runs it.
  const std::vector<Case> cases = {
      {"restore-volume-fail@c2", "f-volume", "c2", "", "", "RestoreDataFromRemoteFailed"},
      {"restore-data-fail", "f-data", "", "", "", "RestoreDataFromRemoteFailed"},
      {"warmup-fail@c3", "f-warmup", "c3", "sync", "check-wal-only", "BackoffLimitExceeded"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fault);
    ResetTidbClusters();
    auto added = env_->sim_admin().Request("POST", "/faults",
                                           R"({"fault":")" + c.fault + "/fed-" + c.name + "\"}");
    ASSERT_EQ(added.status, 201) << added.body;
    Create(VolumeRestore(c.name, c.warmup, c.strategy));
    Json vr = WaitPhase(c.name);
    ASSERT_EQ(JsonStringAt(vr, {"status", "phase"}), "Failed") << Why(vr);
    const Json* failed = TrueCondition(vr, "Failed");
    ASSERT_NE(failed, nullptr) << Why(vr);
    EXPECT_EQ(JsonStringAt(*failed, {"reason"}), "VolumeRestoreMemberFailed");
    const std::string message = JsonStringAt(*failed, {"message"});
    const std::string cluster = c.cluster.empty() ? Audit(c.name).MinCommitTsCluster() : c.cluster;
    EXPECT_NE(message.find(cluster), std::string::npos) << message;
    EXPECT_NE(message.find("fed-" + c.name), std::string::npos) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
    EXPECT_EQ(Audit(c.name).finished, 0) << "a failed restore is not finished";
    EXPECT_LE(Audit(c.name).data_runs.size(), 1u);
    ASSERT_EQ(env_->sim_admin().Request("DELETE", "/faults").status, 200);
  }
}

// restore-finish failures are retried by the operator (RetryFailed, contract b.12), so the
// restore waits in restore-finish instead of failing, and completes once the fault is gone.
TEST_F(RestoreSimEnv, ARestoreFinishFailureIsRetriedUntilItClears) {
  ResetTidbClusters();
  ASSERT_EQ(env_->sim_admin()
                .Request("POST", "/faults", R"({"fault":"restore-finish-fail@c1/fed-f-finish"})")
                .status,
            201);
  Create(VolumeRestore("f-finish"));
  // The data is restored and c1's operator keeps retrying restore-finish.
  Json stuck;
  ASSERT_TRUE(WaitFor([&] {
    const Json member = Member("c1", "f-finish");
    const Json* retry = TrueCondition(member, "RetryFailed");
    stuck = Get("f-finish");
    return retry != nullptr && JsonStringAt(*retry, {"reason"}) == "ClearTCRecoveryMarkFailed" &&
           TrueCondition(stuck, "DataComplete") != nullptr;
  })) << DumpJson(Member("c1", "f-finish"))
      << Why(stuck);
  EXPECT_EQ(kTerminal.count(JsonStringAt(stuck, {"status", "phase"})), 0u) << Why(stuck);
  EXPECT_EQ(JsonStringAt(Member("c1", "f-finish"), {"spec", "federalVolumeRestorePhase"}),
            "restore-finish");
  ASSERT_EQ(env_->sim_admin().Request("DELETE", "/faults").status, 200);
  Json vr = WaitPhase("f-finish");
  ASSERT_EQ(JsonStringAt(vr, {"status", "phase"}), "Complete") << Why(vr);
  ExpectRestoredOnce("f-finish", vr);
}

TEST_F(RestoreSimEnv, ABackupThatIsMissingIncompleteOrForOtherClustersIsInvalid) {
  Json vb = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
             {"kind", "VolumeBackup"},
             {"metadata", {{"name", "never-complete"}, {"namespace", kNs}}},
             {"spec",
              {{"clusters",
                {{{"k8sClusterName", "c1"}, {"tcName", "basic"}, {"tcNamespace", "tidb"}},
                 {{"k8sClusterName", "nope"}, {"tcName", "basic"}, {"tcNamespace", "tidb"}}}},
               {"template",
                {{"br", Json::object()},
                 {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", "nc"}}}}}}}};
  // An unknown context: the manager declares this backup Invalid, so it never completes.
  auto created = cp_->Create(kube::resources::VolumeBackup(), kNs, vb);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  struct Case {
    Json vr;
    std::vector<std::string> expected;  // parts of the message
  };
  const std::vector<Case> cases = {
      {VolumeRestore("bad-missing", "", "", kClusters, "no-such-backup"), {"no-such-backup"}},
      {VolumeRestore("bad-incomplete", "", "", kClusters, "never-complete"), {"never-complete"}},
      {VolumeRestore("bad-clusters", "", "", {"c1", "c2"}), {"c3"}},
      {[] {
         Json vr = VolumeRestore("bad-both");
         vr["spec"]["clusters"][0]["backup"] = {
             {"s3", {{"provider", "aws"}, {"bucket", "x"}, {"prefix", "y"}}}};
         return vr;
       }(),
       {"volumeBackupName"}},
      {VolumeRestore("bad-wal-async", "async", "check-wal-only"), {"check-wal-only"}},
  };
  for (const auto& c : cases) Create(c.vr);
  for (const auto& c : cases) {
    const std::string name = JsonStringAt(c.vr, {"metadata", "name"});
    SCOPED_TRACE(name);
    Json vr = WaitPhase(name);
    ASSERT_EQ(JsonStringAt(vr, {"status", "phase"}), "Invalid") << Why(vr);
    const Json* invalid = TrueCondition(vr, "Invalid");
    ASSERT_NE(invalid, nullptr);
    for (const auto& part : c.expected) {
      EXPECT_NE(JsonStringAt(*invalid, {"message"}).find(part), std::string::npos)
          << JsonStringAt(*invalid, {"message"});
    }
    for (const auto& cluster : kClusters) EXPECT_TRUE(Member(cluster, name).is_null());
  }
}

TEST_F(RestoreSimEnv, KillingTheManagerAtRandomPointsStillRestoresDataExactlyOnce) {
  const int kRuns = 10;
  std::mt19937 rng(20240607);
  std::uniform_int_distribution<int> delay_ms(0, 800);
  for (int i = 0; i < kRuns; ++i) {
    const std::string name = "kill-" + std::to_string(i);
    SCOPED_TRACE(name);
    ResetTidbClusters();
    Create(VolumeRestore(name, i % 2 == 0 ? "" : "async"));
    // Not a synchronisation: a random instant at which to kill.
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    manager_->process->Kill();
    ASSERT_TRUE(manager_->process->Wait(10s).ok());
    StartManager();
    ASSERT_NE(manager_, nullptr);
    Json vr = WaitPhase(name);
    ASSERT_EQ(JsonStringAt(vr, {"status", "phase"}), "Complete") << Why(vr);
    ExpectRestoredOnce(name, vr);
    for (const auto& c : kClusters) {
      kube::ListOptions lo;
      lo.label_selector = "federation.pingcap.com/volume-restore=" + name;
      auto list = dp_.at(c)->List(kube::resources::Restore(), "", lo);
      ASSERT_TRUE(list.ok());
      EXPECT_EQ((*list)["items"].size(), 1u) << c;
    }
  }
}

TEST_F(RestoreSimEnv, ZzAuditLogIsClean) {
  auto result = env_->CheckAuditLog();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace brfed
