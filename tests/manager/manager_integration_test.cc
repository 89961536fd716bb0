// Integration: br-federation-manager as a process, with a control-plane brfed-apiserver, three
// data-plane brfed-apiservers (c1, c2, c3) and tidb-operator-sim (--zero-latency, one TiKV
// store per cluster). Tests create VolumeBackups and wait for their outcome; the simulator's
// audit log is checked at the end. Tests run in declaration order and share the processes.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "api/volume_backup.h"
#include "core/duration.h"
#include "core/json.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "tests/harness/exec_plugin.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/harness.h"
#include "tests/harness/kube_clients.h"
#include "tests/harness/objects.h"

namespace brfed {
namespace {

using testing::ApiServer;
using testing::Process;
using testing::ProcessOptions;
using testing::TrueCondition;
using testing::WaitFor;
using namespace std::chrono_literals;

const std::string kNs = "default";

// Whether the control plane serves upstream's federation CRDs (BRFED_TEST_FEDERATION_CRDS=
// upstream), whose schemas prune what ours add: status.steps, and a schedule's status.conditions.
bool UpstreamFederationCrds() {
  return testing::FederationCrd("x.yaml").find("/deploy/crds/") == std::string::npos;
}

std::shared_ptr<kube::Client> ClientFor(const std::string& kubeconfig) {
  auto client = testing::KubeClientFor(kubeconfig);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? *client : nullptr;
}

// Whether the simulator's audit log has an `event` whose `field` starts with `prefix`: a pause
// released (pd_resume, holder "c1/tidb/fed-x/": the initialize member of VolumeBackup x in c1),
// or a member the simulator found gone (member_vanished, owner "c2/tidb/fed-x/").
bool Audited(const std::string& audit_log, const std::string& event, const std::string& field,
             const std::string& prefix) {
  std::istringstream lines(testing::ReadFile(audit_log));
  for (std::string line; std::getline(lines, line);) {
    auto entry = ParseJson(line);
    if (entry.ok() && JsonStringAt(*entry, {"event"}) == event &&
        JsonStringAt(*entry, {field}).rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

// The sum over label sets of one series name in Prometheus text ("name{...} v" or "name v"),
// of the lines that contain `label` (e.g. `controller="volumeBackup"`) when one is given.
double SeriesSum(const std::string& metrics, const std::string& name,
                 const std::string& label = "") {
  double sum = 0;
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != '{' && line[name.size()] != ' ') continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class ManagerEnv : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::FederationEnvOptions options;
    options.ns = kNs;
    // The federation kubeconfig starts with c1 and c2; a test adds c3 later.
    options.federation_contexts = {"c1", "c2"};
    auto env = testing::FederationEnv::Start(options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    dir_ = &env_->dir();
    control_plane_ = &env_->control_plane();
    admin_ = &env_->sim_admin();
    cp_client_ = ClientFor(control_plane_->kubeconfig);
    for (const char* name : {"c1", "c2", "c3"}) {
      dp_clients_[name] = ClientFor(env_->data_plane(name).kubeconfig);
    }
    manager_ = StartManager("manager-0");
  }

  static void TearDownTestSuite() {
    manager_.reset();
    dp_clients_.clear();
    cp_client_.reset();
    env_.reset();
  }

  static void WriteFederationKubeconfig(const std::vector<std::string>& names) {
    Status st = env_->WriteFederationKubeconfig(names);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  using Manager = testing::ManagerProcess;

  static std::unique_ptr<Manager> StartManager(const std::string& tag,
                                               std::vector<std::string> extra = {
                                                   "--leader-elect=false"}) {
    auto m = env_->StartManager(tag, extra);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }

  static bool Ready(const Manager& m) { return m.Ready(); }
  static bool Leading(const Manager& m) { return m.Leading(); }
  static std::string Metrics(const Manager& m) { return m.Metrics(); }

  static Json VolumeBackup(const std::string& name, const std::vector<std::string>& clusters) {
    return testing::VolumeBackupObject(kNs, name, clusters);
  }

  static Status Create(const Json& vb) {
    return cp_client_->Create(kube::resources::VolumeBackup(), kNs, vb).status();
  }
  static Json Get(const std::string& name) {
    auto r = cp_client_->Get(kube::resources::VolumeBackup(), kNs, name);
    return r.ok() ? *r : Json();
  }
  // Waits until the VolumeBackup's phase is one of `phases`; returns the object.
  static Json WaitPhase(const std::string& name, std::set<std::string> phases,
                        std::chrono::milliseconds deadline = 60s) {
    Json vb;
    WaitFor(
        [&] {
          vb = Get(name);
          return phases.count(JsonStringAt(vb, {"status", "phase"})) > 0;
        },
        deadline);
    return vb;
  }
  static Json Member(const std::string& cluster, const std::string& vb_name) {
    auto r = dp_clients_.at(cluster)->Get(kube::resources::Backup(), "tidb", "fed-" + vb_name);
    return r.ok() ? *r : Json();
  }
  static bool PdPaused() {
    auto r = admin_->Request("GET", "/state");
    auto state = ParseJson(r.body);
    return !state.ok() || JsonBoolAt(*state, {"pd", "paused"});
  }
  static std::string ManagerLog() { return testing::ReadFile(manager_->log); }

  // Replaces the shared manager with one that probes the data planes every 500 ms and calls one
  // unreachable after two misses; returns once c1 and c2 are reachable.
  static void StartProbingManager(const std::string& tag) {
    if (manager_ != nullptr) manager_->process->Kill();  // the leader test may have stopped it
    manager_ =
        StartManager(tag, {"--leader-elect=false", "--data-plane-probe-interval=500ms",
                           "--data-plane-probe-timeout=1s", "--data-plane-unreachable-after=2"});
    ASSERT_NE(manager_, nullptr);
    ASSERT_TRUE(WaitFor([] { return Reachable("c1", 1) && Reachable("c2", 1); }, 60s))
        << Metrics(*manager_);
  }
  static bool Reachable(const std::string& cluster, int value) {
    return Metrics(*manager_).find("brfed_data_plane_reachable{cluster=\"" + cluster + "\"} " +
                                   std::to_string(value)) != std::string::npos;
  }
  // A data-plane API server stopped with SIGSTOP (a partition) for this object's life.
  struct Frozen {
    Process& process;
    explicit Frozen(Process& p) : process(p) { process.Signal(SIGSTOP); }
    ~Frozen() { process.Signal(SIGCONT); }
  };

  static inline std::unique_ptr<testing::FederationEnv> env_;
  static inline const testing::TempDir* dir_ = nullptr;
  static inline const ApiServer* control_plane_ = nullptr;
  static inline std::shared_ptr<kube::Client> cp_client_;
  static inline std::map<std::string, std::shared_ptr<kube::Client>> dp_clients_;
  static inline const testing::HttpClient* admin_ = nullptr;
  static inline std::unique_ptr<Manager> manager_;
};

TEST_F(ManagerEnv, BadFlagsExitTwoAndAMissingKubeconfigExitsOne) {
  ProcessOptions o;
  o.binary = testing::ManagerBinary();
  o.args = {"--workers", "0"};
  auto bad = testing::RunCommand(o, 30s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--workers"), std::string::npos) << bad.err;

  o.args = {"--kubeconfig",
            control_plane_->kubeconfig,
            "--federation-kubeconfig-path",
            dir_->File("no-such-file"),
            "--leader-elect=false",
            "--metrics-addr",
            "0"};
  auto missing = testing::RunCommand(o, 30s);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no-such-file"), std::string::npos) << missing.err;
}

TEST_F(ManagerEnv, ServesReadyzAndMetrics) {
  ASSERT_TRUE(WaitFor([] { return Ready(*manager_); })) << ManagerLog();
  std::string metrics = Metrics(*manager_);
  EXPECT_NE(metrics.find("brfed_data_planes 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("brfed_data_plane_reachable{cluster=\"c1\"} 1"), std::string::npos)
      << metrics;
}

// One informer per resource per cluster, as the API servers' audit logs show: the three
// controllers that read VolumeBackups (backup, restore, schedule) share one list and one watch
// of the control plane; each data plane in the federation kubeconfig is listed and watched once
// per member resource (Backups: the backup controller; Restores: the restore controller).
// Watches are counted as open at once: a real kube-apiserver may end one (a CRD's storage is
// rebuilt; member watches end within a minute on purpose) and the informer then resumes it.
TEST_F(ManagerEnv, OneVolumeBackupWatchPerControlPlane) {
  ASSERT_TRUE(WaitFor([&] { return Ready(*manager_); }, 30s));
  auto requests = [&](const std::string& server, const std::string& verb,
                      const std::string& resource) {
    return testing::CountAuditedRequests(env_->api_server_audit_log(server), verb, resource,
                                         "br-federation-manager/");
  };
  auto watches = [&](const std::string& server, const std::string& resource) {
    return testing::MostAuditedRequestsAtOnce(env_->api_server_audit_log(server), "watch", resource,
                                              "br-federation-manager/");
  };
  EXPECT_EQ(watches("control-plane", "volumebackups"), 1);
  EXPECT_EQ(requests("control-plane", "list", "volumebackups"), 1);
  EXPECT_EQ(watches("control-plane", "volumerestores"), 1);
  EXPECT_EQ(watches("control-plane", "volumebackupschedules"), 1);
  for (const char* data_plane : {"c1", "c2"}) {
    for (const char* resource : {"backups", "restores"}) {
      // Readiness waits for the control plane's caches; a data plane's may start a moment later.
      EXPECT_TRUE(WaitFor([&] { return requests(data_plane, "watch", resource) >= 1; }, 60s))
          << data_plane << " " << resource;
      EXPECT_EQ(requests(data_plane, "list", resource), 1) << data_plane << " " << resource;
      EXPECT_EQ(watches(data_plane, resource), 1) << data_plane << " " << resource;
    }
  }
  EXPECT_EQ(requests("c3", "watch", "backups"), 0) << "c3 is not in the federation kubeconfig yet";
}

TEST_F(ManagerEnv, UnknownContextIsInvalid) {
  ASSERT_TRUE(Create(VolumeBackup("unknown-ctx", {"c1", "nope"})).ok());
  Json vb = WaitPhase("unknown-ctx", {"Invalid", "Failed", "Complete"});
  ASSERT_EQ(JsonStringAt(vb, {"status", "phase"}), "Invalid") << DumpJson(vb) << ManagerLog();
  const Json* invalid = TrueCondition(vb, "Invalid");
  ASSERT_NE(invalid, nullptr) << DumpJson(vb);
  std::string message = JsonStringAt(*invalid, {"message"});
  EXPECT_NE(message.find("nope"), std::string::npos) << message;
  EXPECT_NE(message.find("c1"), std::string::npos) << "names the known contexts: " << message;
  EXPECT_TRUE(Member("c1", "unknown-ctx").is_null()) << "no member before validation passes";
}

TEST_F(ManagerEnv, ContextAddedToTheKubeconfigIsUsedWithoutRestart) {
  const pid_t pid = manager_->process->pid();
  WriteFederationKubeconfig({"c1", "c2", "c3"});
  ASSERT_TRUE(WaitFor([] {
    return Metrics(*manager_).find("brfed_data_planes 3") != std::string::npos;
  })) << Metrics(*manager_)
      << ManagerLog();
  ASSERT_TRUE(Create(VolumeBackup("with-c3", {"c1", "c2", "c3"})).ok());
  Json vb = WaitPhase("with-c3", {"Invalid", "Failed", "Complete"});
  EXPECT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete") << DumpJson(vb) << ManagerLog();
  EXPECT_FALSE(Member("c3", "with-c3").is_null());
  EXPECT_EQ(manager_->process->pid(), pid);
  EXPECT_TRUE(manager_->process->Running());
}

TEST_F(ManagerEnv, HappyPathCompletesWithAggregatedStatus) {
  ASSERT_TRUE(Create(VolumeBackup("happy", {"c1", "c2", "c3"})).ok());
  Json vb = WaitPhase("happy", {"Invalid", "Failed", "Complete"});
  ASSERT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete") << DumpJson(vb) << ManagerLog();
  EXPECT_NE(TrueCondition(vb, "Complete"), nullptr);
  const Json* backups = JsonAt(vb, {"status", "backups"});
  ASSERT_NE(backups, nullptr);
  EXPECT_EQ(backups->size(), 3u);
  EXPECT_FALSE(JsonStringAt(vb, {"status", "commitTs"}).empty());
  EXPECT_FALSE(JsonStringAt(vb, {"status", "timeCompleted"}).empty());
  EXPECT_FALSE(PdPaused());
  for (const char* c : {"c1", "c2", "c3"}) {
    Json m = Member(c, "happy");
    EXPECT_EQ(JsonStringAt(m, {"spec", "federalVolumeBackupPhase"}), "teardown") << c;
    EXPECT_EQ(JsonStringAt(m, {"spec", "s3", "prefix"}), std::string("happy-") + c);
  }
  EXPECT_NE(Metrics(*manager_).find("fed_volume_backup_status"), std::string::npos);

  // The pause and the manager's share of it: recorded for this window, the share inside it.
  // With upstream's federation CRDs too, where status.steps is pruned by the API server and the
  // window is taken from the members' conditions.
  // The manager observes them after the status write of the pass that closes the window, which
  // with the zero-latency simulator can be the write that says Complete: wait for them.
  const std::string whole = "brfed_volume_backup_gc_pause_seconds";
  const std::string share = "brfed_volume_backup_gc_pause_control_plane_seconds";
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = Metrics(*manager_);
    return SeriesSum(metrics, share + "_count") >= 1;
  })) << metrics;
  EXPECT_LE(SeriesSum(metrics, share + "_count"), SeriesSum(metrics, whole + "_count")) << metrics;
  EXPECT_LE(SeriesSum(metrics, share + "_sum"), SeriesSum(metrics, whole + "_sum")) << metrics;
  EXPECT_GT(SeriesSum(metrics, whole + "_sum"), 0) << metrics;
  // Upstream's CRDs have no status.steps.
  if (UpstreamFederationCrds()) return;
  const Json* steps = JsonAt(vb, {"status", "steps"});
  ASSERT_NE(steps, nullptr) << DumpJson(vb);
  const Json* pause = nullptr;
  for (const Json& s : *steps) {
    if (JsonStringAt(s, {"stepName"}) == "GCPause") pause = &s;
  }
  ASSERT_NE(pause, nullptr) << DumpJson(vb);
  auto taken = ParseGoDuration(JsonStringAt(*pause, {"timeTaken"}));
  auto manager_part = ParseGoDuration(JsonStringAt(*pause, {"controlPlaneTimeTaken"}));
  ASSERT_TRUE(taken.ok() && manager_part.ok()) << DumpJson(*pause);
  EXPECT_LE(*manager_part, *taken) << DumpJson(*pause);
}

// Sums the manager's rest_client_requests_total series of write verbs whose code is `code`
// ("" = any code), on the data planes (cluster c1..c3) or on the control plane (any other).
double ManagerWrites(const std::string& metrics, const std::string& code, bool data_planes) {
  double sum = 0;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("rest_client_requests_total{", 0) != 0) continue;
    const bool write = line.find("verb=\"GET\"") == std::string::npos &&
                       line.find("verb=\"LIST\"") == std::string::npos &&
                       line.find("verb=\"WATCH\"") == std::string::npos;
    const bool data_plane = line.find("cluster=\"c1\"") != std::string::npos ||
                            line.find("cluster=\"c2\"") != std::string::npos ||
                            line.find("cluster=\"c3\"") != std::string::npos;
    if (!write || data_plane != data_planes ||
        (!code.empty() && line.find("code=\"" + code + "\"") == std::string::npos)) {
      continue;
    }
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Issue 16: the manager waits until its caches show its own last write before deciding again,
// so a burst of concurrent backups causes no stale-cache 409 Conflicts. Counted from the
// manager's own rest_client_requests_total, not by timing. On the control plane the manager is
// the VolumeBackups' only writer here, so every 409 there would be a stale cache of ours
// (before expectations: about one per backup). On the data planes the simulator writes each
// member's status in quick bursts, and a member patch decided just before one of those writes
// conflicts with another writer: those are retried by design and only bounded here. How many
// depends on how the two writers interleave, so on load: 2-9 of about 80 member writes on an
// idle machine, 22 of 100 once on kube-apiserver in a loaded CI run. The bound is half the
// writes: a stale cache of ours re-decided on every pass would conflict on about every write.
TEST_F(ManagerEnv, ABurstOfBackupsCausesNearlyNoConflicts) {
  const std::string before = Metrics(*manager_);
  constexpr int kBackups = 10;
  for (int i = 0; i < kBackups; ++i) {
    ASSERT_TRUE(Create(VolumeBackup("burst-" + std::to_string(i), {"c1", "c2", "c3"})).ok());
  }
  for (int i = 0; i < kBackups; ++i) {
    const std::string name = "burst-" + std::to_string(i);
    Json vb = WaitPhase(name, {"Invalid", "Failed", "Complete"}, 120s);
    ASSERT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete") << name << ManagerLog();
  }
  const std::string after = Metrics(*manager_);
  auto delta = [&](const std::string& code, bool data_planes) {
    return ManagerWrites(after, code, data_planes) - ManagerWrites(before, code, data_planes);
  };
  const double cp_writes = delta("", false);
  const double dp_writes = delta("", true);
  // The metric is there and counts our writes: at least a status write and a member create
  // per backup and data plane.
  ASSERT_GE(cp_writes, kBackups) << after;
  ASSERT_GE(dp_writes, kBackups * 3) << after;
  std::cerr << "409s: control plane " << delta("409", false) << " of " << cp_writes
            << " writes, data planes " << delta("409", true) << " of " << dp_writes << "\n";
  EXPECT_LE(delta("409", false), 1) << "control-plane 409s in " << cp_writes << " writes";
  EXPECT_LE(delta("409", true), dp_writes * 0.5) << "data-plane 409s in " << dp_writes << " writes";
  EXPECT_FALSE(PdPaused());
}

// Issue 16: a finished VolumeBackup costs nothing. A manager started over the finished backups
// of the tests above reconciles every one of them (the first pass over its caches, plus the
// passes the member relists enqueue) and writes nothing at all: no status, no member, no
// finalizer, no Event. Counted from its own rest_client_requests_total.
TEST_F(ManagerEnv, ReconcilingFinishedVolumeBackupsWritesNothing) {
  const std::set<std::string> finished = {"Complete", "Failed", "Invalid"};
  size_t count = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto list = cp_client_->List(kube::resources::VolumeBackup(), kNs);
        const Json* items = list.ok() ? JsonAt(*list, {"items"}) : nullptr;
        if (items == nullptr) return false;
        count = items->size();
        return std::all_of(items->begin(), items->end(), [&](const Json& vb) {
          return finished.count(JsonStringAt(vb, {"status", "phase"})) > 0;
        });
      },
      60s));
  ASSERT_GE(count, 2u) << "the finished backups of the tests above are there";
  manager_->process->Kill();
  manager_ = StartManager("manager-over-finished");
  ASSERT_NE(manager_, nullptr);
  const std::string vb_controller = "controller=\"volumeBackup\"";
  std::string metrics;
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = Metrics(*manager_);
        return SeriesSum(metrics, "controller_runtime_reconcile_total", vb_controller) >=
                   static_cast<double>(count) &&
               SeriesSum(metrics, "workqueue_depth", "name=\"volumeBackup\"") == 0 &&
               SeriesSum(metrics, "controller_runtime_active_workers", vb_controller) == 0;
      },
      60s))
      << metrics;
  EXPECT_EQ(ManagerWrites(metrics, "", false), 0) << metrics;
  EXPECT_EQ(ManagerWrites(metrics, "", true), 0) << metrics;
  EXPECT_EQ(SeriesSum(metrics, "controller_runtime_reconcile_errors_total", vb_controller), 0)
      << metrics;
}

// Issue 16: no pass waits for a status token. With the status bucket (and every data plane's)
// at 2 requests per second, most status writes are held for their token while the member writes
// of the same passes go on; the next pass decides on the held status, not on the cache, and its
// write carries both. A held transition re-derived from the cache would be lost for good (the
// member write that ends Initialize also starts GCPause, and is not made twice), so every step
// of every backup must be there, finished, when it completes.
TEST_F(ManagerEnv, StatusWritesShortOfTokensLoseNoStep) {
  manager_->process->Kill();
  manager_ = StartManager("manager-few-tokens", {"--leader-elect=false", "--kube-client-qps", "2",
                                                 "--kube-client-burst", "1"});
  ASSERT_NE(manager_, nullptr);
  constexpr int kBackups = 3;
  for (int i = 0; i < kBackups; ++i) {
    ASSERT_TRUE(Create(VolumeBackup("few-tokens-" + std::to_string(i), {"c1", "c2"})).ok());
  }
  for (int i = 0; i < kBackups; ++i) {
    const std::string name = "few-tokens-" + std::to_string(i);
    Json vb = WaitPhase(name, {"Invalid", "Failed", "Complete"}, 120s);
    ASSERT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete") << name << ManagerLog();
    EXPECT_NE(TrueCondition(vb, "Complete"), nullptr) << DumpJson(vb);
    if (UpstreamFederationCrds()) continue;  // no status.steps there
    std::set<std::string> finished;
    for (const Json& step :
         JsonAt(vb, {"status", "steps"}) != nullptr ? vb["status"]["steps"] : Json::array()) {
      if (!JsonStringAt(step, {"timeCompleted"}).empty()) {
        finished.insert(JsonStringAt(step, {"stepName"}));
      }
      if (JsonStringAt(step, {"stepName"}) == "GCPause") {
        EXPECT_FALSE(JsonStringAt(step, {"controlPlaneTimeTaken"}).empty()) << DumpJson(step);
      }
    }
    EXPECT_EQ(finished, (std::set<std::string>{"Initialize", "GCPause", "CreateSnapshots",
                                               "CompleteSnapshots", "Teardown"}))
        << DumpJson(vb);
  }
  EXPECT_FALSE(PdPaused());
  manager_->process->Kill();
  manager_ = StartManager("manager-after-few-tokens");
  ASSERT_NE(manager_, nullptr);
  EXPECT_TRUE(WaitFor([] { return Ready(*manager_); })) << ManagerLog();
}

TEST_F(ManagerEnv, EverySimulatorFaultEndsFailedWithThePauseReleased) {
  struct Case {
    std::string fault, name, cluster;
  };
  const std::vector<Case> cases = {{"init-fail", "f-init", "c1"},
                                   {"snapshot-fail", "f-snap", "c2"},
                                   {"execute-pod-dies", "f-pod", "c3"},
                                   {"init-job-deleted", "f-jobdel", "c1"},
                                   {"invalid", "f-invalid", "c2"}};
  for (const auto& c : cases) {
    auto r = admin_->Request(
        "POST", "/faults", R"({"fault":")" + c.fault + "@" + c.cluster + "/fed-" + c.name + "\"}");
    ASSERT_EQ(r.status, 201) << c.fault << ": " << r.body;
    ASSERT_TRUE(Create(VolumeBackup(c.name, {"c1", "c2", "c3"})).ok());
  }
  for (const auto& c : cases) {
    Json vb = WaitPhase(c.name, {"Invalid", "Failed", "Complete"});
    EXPECT_EQ(JsonStringAt(vb, {"status", "phase"}), "Failed") << c.fault << DumpJson(vb);
    const Json* failed = TrueCondition(vb, "Failed");
    ASSERT_NE(failed, nullptr) << c.fault << DumpJson(vb);
    EXPECT_EQ(JsonStringAt(*failed, {"reason"}), "VolumeBackupMemberFailed") << c.fault;
    EXPECT_NE(JsonStringAt(*failed, {"message"}).find(c.cluster), std::string::npos)
        << c.fault << ": " << JsonStringAt(*failed, {"message"});
    // The pause is released through the initialize member.
    EXPECT_EQ(JsonStringAt(Member("c1", c.name), {"spec", "federalVolumeBackupPhase"}), "teardown")
        << c.fault;
  }
  EXPECT_TRUE(WaitFor([] { return !PdPaused(); }, 30s)) << admin_->Request("GET", "/state").body;
  admin_->Request("DELETE", "/faults");
}

TEST_F(ManagerEnv, DeletingMidFlightReleasesThePauseAndCleansUp) {
  ASSERT_EQ(admin_->Request("POST", "/faults", R"({"fault":"hang@c2/fed-midflight"})").status, 201);
  ASSERT_TRUE(Create(VolumeBackup("midflight", {"c1", "c2"})).ok());
  ASSERT_TRUE(WaitFor([] { return !Member("c2", "midflight").is_null(); }))
      << DumpJson(Get("midflight")) << ManagerLog();
  EXPECT_TRUE(PdPaused()) << "the initialize member holds the pause while c2 hangs";
  ASSERT_TRUE(cp_client_->Delete(kube::resources::VolumeBackup(), kNs, "midflight").ok());
  EXPECT_TRUE(WaitFor([] { return Get("midflight").is_null(); }, 60s))
      << DumpJson(Get("midflight")) << ManagerLog();
  EXPECT_TRUE(WaitFor(
      [] { return Member("c1", "midflight").is_null() && Member("c2", "midflight").is_null(); }));
  EXPECT_TRUE(WaitFor([] { return !PdPaused(); }, 30s)) << admin_->Request("GET", "/state").body;
  admin_->Request("DELETE", "/faults");
}

// A member whose VolumeBackup is gone (kube-apiserver can delete a VolumeBackup whose finalizer
// a concurrent patch had just added, while our pass creates its initialize member; chaos seed
// 22010) is deleted by the manager, and the pause its init job took goes with it.
TEST_F(ManagerEnv, AMemberWhoseVolumeBackupIsGoneIsDeleted) {
  Json ghost = VolumeBackup("ghost", {"c1"});
  ghost["metadata"]["uid"] = "uid-of-a-deleted-volumebackup";
  ghost["spec"]["template"]["cleanPolicy"] = "Delete";
  Json member = api::BuildBackupMember(ghost, {"c1", "basic", "tidb"}, /*initialize=*/true);
  ASSERT_EQ(JsonStringAt(member, {"spec", "cleanPolicy"}), "Delete") << DumpJson(member);
  ASSERT_TRUE(dp_clients_.at("c1")->Create(kube::resources::Backup(), "tidb", member).ok());
  EXPECT_TRUE(WaitFor([] { return Member("c1", "ghost").is_null(); }, 60s))
      << DumpJson(Member("c1", "ghost")) << ManagerLog();
  EXPECT_NE(ManagerLog().find("deleting a member whose VolumeBackup no longer exists"),
            std::string::npos);
  EXPECT_TRUE(WaitFor([] { return !PdPaused(); }, 30s)) << admin_->Request("GET", "/state").body;
}

TEST_F(ManagerEnv, MalformedVolumeBackupsEndInvalidWhileAValidOneCompletes) {
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    std::string expected;  // part of the message
  };
  const std::vector<Case> cases = {
      {"bad-no-clusters", [](Json& v) { v["spec"]["clusters"] = Json::array(); }, "cluster"},
      {"bad-duplicate", [](Json& v) { v["spec"]["clusters"][1]["k8sClusterName"] = "c1"; }, "c1"},
      {"bad-no-tcname", [](Json& v) { v["spec"]["clusters"][0].erase("tcName"); }, "tcName"},
      {"bad-tcname", [](Json& v) { v["spec"]["clusters"][0]["tcName"] = "Bad_Name"; }, "tcName"},
      {"bad-tcns", [](Json& v) { v["spec"]["clusters"][0]["tcNamespace"] = "-bad-"; },
       "tcNamespace"},
      {"bad-no-tcns", [](Json& v) { v["spec"]["clusters"][1].erase("tcNamespace"); },
       "tcNamespace"},
      {"bad-no-br", [](Json& v) { v["spec"]["template"].erase("br"); }, "br"},
      {"bad-no-s3", [](Json& v) { v["spec"]["template"].erase("s3"); }, "s3"},
      {"bad-no-template", [](Json& v) { v["spec"].erase("template"); }, "template"},
      {"bad-context", [](Json& v) { v["spec"]["clusters"][1]["k8sClusterName"] = "c9"; }, "c9"},
      {"bad-no-context", [](Json& v) { v["spec"]["clusters"][0].erase("k8sClusterName"); },
       "k8sClusterName"},
      {"bad-" + std::string(52, 'x'), [](Json&) {}, "at most 47 fit"},
  };
  for (const auto& c : cases) {
    Json vb = VolumeBackup(c.name, {"c1", "c2"});
    c.mutate(vb);
    Status st = Create(vb);
    // The CRD schema may reject some at the API server already: that is a clear error too.
    if (!st.ok()) {
      EXPECT_EQ(st.code(), Code::kInvalid) << c.name << ": " << st.ToString();
      EXPECT_FALSE(st.message().empty());
    }
  }
  ASSERT_TRUE(Create(VolumeBackup("valid-beside", {"c1", "c2"})).ok());
  int invalid_count = 0;
  for (const auto& c : cases) {
    if (Get(c.name).is_null()) continue;
    ++invalid_count;
    Json vb = WaitPhase(c.name, {"Invalid", "Failed", "Complete"});
    EXPECT_EQ(JsonStringAt(vb, {"status", "phase"}), "Invalid") << c.name << DumpJson(vb);
    const Json* invalid = TrueCondition(vb, "Invalid");
    ASSERT_NE(invalid, nullptr) << c.name;
    std::string message = JsonStringAt(*invalid, {"message"});
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_TRUE(Member("c1", c.name).is_null()) << c.name;
  }
  EXPECT_GE(invalid_count, 10) << "at least ten reach the manager and end Invalid";
  Json valid = WaitPhase("valid-beside", {"Invalid", "Failed", "Complete"});
  EXPECT_EQ(JsonStringAt(valid, {"status", "phase"}), "Complete") << DumpJson(valid);
}

TEST_F(ManagerEnv, KillingTheManagerAtRandomPointsChangesNothing) {
  const int kRuns = 20;
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> delay_ms(0, 300);
  for (int i = 0; i < kRuns; ++i) {
    const std::string name = "kill-" + std::to_string(i);
    ASSERT_TRUE(Create(VolumeBackup(name, {"c1", "c2", "c3"})).ok());
    // Not a synchronisation: a random instant at which to kill.
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    manager_->process->Kill();
    ASSERT_TRUE(manager_->process->Wait(10s).ok());
    manager_ = StartManager("manager-" + std::to_string(i + 1));
    Json vb = WaitPhase(name, {"Invalid", "Failed", "Complete"});
    ASSERT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete")
        << name << DumpJson(vb) << ManagerLog();
    std::set<std::string> clusters;
    for (const auto& m : *JsonAt(vb, {"status", "backups"})) {
      EXPECT_TRUE(clusters.insert(JsonStringAt(m, {"k8sClusterName"})).second) << DumpJson(vb);
    }
    EXPECT_EQ(clusters.size(), 3u);
    for (const char* c : {"c1", "c2", "c3"}) {
      kube::ListOptions lo;
      lo.label_selector = "federation.pingcap.com/volume-backup=" + name;
      auto list = dp_clients_.at(c)->List(kube::resources::Backup(), "", lo);
      ASSERT_TRUE(list.ok());
      EXPECT_EQ((*list)["items"].size(), 1u) << c << " " << name;
    }
  }
  EXPECT_FALSE(PdPaused());
}

TEST_F(ManagerEnv, OnlyTheLeaderWorksAndAStandbyTakesOver) {
  manager_.reset();  // SIGKILL
  std::vector<std::string> election = {
      "--leader-elect", "--leader-lease-duration", "2s",   "--leader-renew-deadline",
      "1500ms",         "--leader-retry-period",   "200ms"};
  auto first = StartManager("leader-a", election);
  ASSERT_TRUE(WaitFor([&] { return Leading(*first) && Ready(*first); }))
      << testing::ReadFile(first->log);
  auto second = StartManager("leader-b", election);
  ASSERT_TRUE(Create(VolumeBackup("led-1", {"c1", "c2"})).ok());
  EXPECT_EQ(
      JsonStringAt(WaitPhase("led-1", {"Complete", "Failed", "Invalid"}), {"status", "phase"}),
      "Complete");
  EXPECT_FALSE(Leading(*second)) << "a standby does nothing";
  // Readiness is independent of leadership (as in controller-runtime): a rolling update's new
  // Pod turns Ready as a standby while the old one leads. /healthz too.
  EXPECT_TRUE(WaitFor([&] { return Ready(*second); }, 30s)) << "a campaigning standby is Ready";
  EXPECT_EQ(testing::HttpClient("http://127.0.0.1:" + std::to_string(second->metrics_port))
                .Request("GET", "/healthz", "", "", "*/*", 2s)
                .status,
            200);
  first->process->Kill();
  ASSERT_TRUE(WaitFor([&] { return Leading(*second) && Ready(*second); }, 30s))
      << testing::ReadFile(second->log);
  ASSERT_TRUE(Create(VolumeBackup("led-2", {"c1", "c2"})).ok());
  EXPECT_EQ(
      JsonStringAt(WaitPhase("led-2", {"Complete", "Failed", "Invalid"}), {"status", "phase"}),
      "Complete");
  second->process->Terminate();
  auto code = second->process->Wait(20s);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << testing::ReadFile(second->log);
}

// Upstream's -cluster-scoped=false (the chart's clusterScoped=false, with a namespaced Role):
// only the federation objects of $NAMESPACE are watched and driven.
TEST_F(ManagerEnv, NamespaceScopedWatchesOnlyItsNamespace) {
  // The harness passes --namespace default (the chart: $NAMESPACE from the Pod).
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "elsewhere"}}}};
  ASSERT_TRUE(cp_client_->Create(kube::resources::Namespace(), "", ns).ok());
  Json outside = VolumeBackup("outside-scope", {"c1", "c2"});
  outside["metadata"]["namespace"] = "elsewhere";
  ASSERT_TRUE(cp_client_->Create(kube::resources::VolumeBackup(), "elsewhere", outside).ok());
  ASSERT_TRUE(Create(VolumeBackup("inside-scope", {"c1", "c2"})).ok());
  auto GetOutside = [this] {
    auto r = cp_client_->Get(kube::resources::VolumeBackup(), "elsewhere", "outside-scope");
    return r.ok() ? *r : Json();
  };

  auto m = env_->StartManager("scoped", {"--leader-elect=false", "-cluster-scoped=false"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Json inside = WaitPhase("inside-scope", {"Complete", "Failed", "Invalid"});
  EXPECT_EQ(JsonStringAt(inside, {"status", "phase"}), "Complete")
      << DumpJson(inside) << (*m)->Log();
  EXPECT_EQ(JsonAt(GetOutside(), {"status"}), nullptr) << DumpJson(GetOutside());
  EXPECT_EQ((*m)->Log().find("elsewhere/outside-scope"), std::string::npos) << (*m)->Log();
  // Back to all namespaces: the object outside the old scope is picked up.
  (*m)->process->Terminate();
  ASSERT_TRUE((*m)->process->Wait(20s).ok());
  auto all = env_->StartManager("all-namespaces", {"--leader-elect=false", "-cluster-scoped"});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  Json done;
  WaitFor(
      [&] {
        done = GetOutside();
        return JsonStringAt(done, {"status", "phase"}) == "Complete";
      },
      60s);
  EXPECT_EQ(JsonStringAt(done, {"status", "phase"}), "Complete") << DumpJson(done);
}

// The container command of upstream's chart (charts/br-federation, default values), its
// environment (NAMESPACE from the Pod, TZ) and KUBECONFIG in place of the in-cluster account:
// the manager starts, serves :6060 (the chart's liveness probe port), leads on upstream's Lease
// name and completes a backup.
TEST_F(ManagerEnv, TheChartsCommandLineStartsLeadsAndWorks) {
  ProcessOptions o;
  o.binary = testing::ManagerBinary();
  o.args = {"-v=2", "-cluster-scoped=true",
            "-federation-kubeconfig-path=" + env_->federation_kubeconfig()};
  o.env = {{"NAMESPACE", kNs}, {"TZ", "UTC"}, {"KUBECONFIG", control_plane_->kubeconfig}};
  o.stderr_path = dir_->File("chart-cmd.log");
  auto process = Process::Start(o);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  testing::HttpClient probe("http://127.0.0.1:6060");
  // Ready (the chart's readiness probe) and leading: a standby is Ready too.
  ASSERT_TRUE(WaitFor(
      [&] {
        return probe.Request("GET", "/readyz", "", "", "*/*", 2s).status == 200 &&
               probe.Request("GET", "/metrics", "", "", "*/*", 2s)
                       .body.find(
                           "leader_election_master_status{name=\"br-federation-manager\"} 1") !=
                   std::string::npos;
      },
      90s))
      << testing::ReadFile(o.stderr_path);
  auto lease = cp_client_->Get(kube::resources::Lease(), kNs, "br-federation-manager");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_FALSE(JsonStringAt(*lease, {"spec", "holderIdentity"}).empty()) << DumpJson(*lease);
  ASSERT_TRUE(Create(VolumeBackup("chart-cmd", {"c1", "c2"})).ok());
  EXPECT_EQ(
      JsonStringAt(WaitPhase("chart-cmd", {"Complete", "Failed", "Invalid"}), {"status", "phase"}),
      "Complete")
      << testing::ReadFile(o.stderr_path);
  (*process)->Terminate();
  auto code = (*process)->Wait(20s);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << testing::ReadFile(o.stderr_path);
}

// Upstream's chart with appendReleaseSuffix sets HELM_RELEASE; the Lease is then
// br-federation-manager-<release>, so two managers of one release (a Go pod and ours during a
// switch-over, or two of ours) contend for the same Lease.
TEST_F(ManagerEnv, HelmReleaseNamesTheLeaseAndOneManagerOfAReleaseLeads) {
  std::vector<std::string> election = {
      "--leader-elect", "--leader-lease-duration", "2s",   "--leader-renew-deadline",
      "1500ms",         "--leader-retry-period",   "200ms"};
  std::vector<std::unique_ptr<Manager>> managers;
  for (const char* tag : {"release-a", "release-b"}) {
    auto m = env_->StartManager(tag, election, {{"HELM_RELEASE", "fed1"}});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    managers.push_back(std::move(*m));
  }
  ASSERT_TRUE(WaitFor([&] { return Leading(*managers[0]) || Leading(*managers[1]); }))
      << managers[0]->Log() << managers[1]->Log();
  auto lease = cp_client_->Get(kube::resources::Lease(), kNs, "br-federation-manager-fed1");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  const std::string holder = JsonStringAt(*lease, {"spec", "holderIdentity"});
  EXPECT_FALSE(holder.empty());
  // Give the standby every chance to (wrongly) start: a backup runs to the end meanwhile.
  ASSERT_TRUE(Create(VolumeBackup("release-led", {"c1", "c2"})).ok());
  EXPECT_EQ(JsonStringAt(WaitPhase("release-led", {"Complete", "Failed", "Invalid"}),
                         {"status", "phase"}),
            "Complete");
  EXPECT_NE(Leading(*managers[0]), Leading(*managers[1])) << "exactly one of the release leads";
  auto again = cp_client_->Get(kube::resources::Lease(), kNs, "br-federation-manager-fed1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(JsonStringAt(*again, {"spec", "holderIdentity"}), holder);
}

// A data-plane API server frozen with SIGSTOP (a partition) is reported unreachable within a
// few probes, the others stay reachable, and it is reachable again after SIGCONT without a
// restart of the manager.
TEST_F(ManagerEnv, AFrozenDataPlaneIsReportedUnreachableAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(StartProbingManager("manager-probe"));
  Process& frozen = *env_->data_plane("c2").process;
  Frozen partition(frozen);
  EXPECT_TRUE(WaitFor([&] { return Reachable("c2", 0); }, 120s)) << Metrics(*manager_);
  EXPECT_TRUE(Reachable("c1", 1)) << Metrics(*manager_);
  EXPECT_TRUE(WaitFor(
      [] {
        std::string log = ManagerLog();
        return log.find("data plane unreachable") != std::string::npos &&
               log.find("c2") != std::string::npos;
      },
      30s))
      << ManagerLog();
  // A VolumeBackup started during the partition names the cluster in a condition.
  ASSERT_TRUE(Create(VolumeBackup("partitioned", {"c1", "c2"})).ok());
  auto condition = [](const std::string& status) {
    Json vb = Get("partitioned");
    for (const Json& c : JsonAt(vb, {"status", "conditions"}) != nullptr
                             ? *JsonAt(vb, {"status", "conditions"})
                             : Json::array()) {
      if (JsonStringAt(c, {"type"}) == "DataPlaneUnreachable" &&
          JsonStringAt(c, {"status"}) == status) {
        return JsonStringAt(c, {"message"});
      }
    }
    return std::string();
  };
  EXPECT_TRUE(WaitFor([&] { return condition("True").find("c2") != std::string::npos; }, 120s))
      << DumpJson(Get("partitioned")) << ManagerLog();
  // So does a schedule whose template names it (its next slot is a year away: nothing runs).
  Json schedule = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
                   {"kind", "VolumeBackupSchedule"},
                   {"metadata", {{"name", "partitioned-schedule"}, {"namespace", kNs}}},
                   {"spec",
                    {{"schedule", "0 0 1 1 *"},
                     {"backupTemplate", VolumeBackup("unused", {"c1", "c2"})["spec"]}}}};
  ASSERT_TRUE(cp_client_->Create(kube::resources::VolumeBackupSchedule(), kNs, schedule).ok());
  auto schedule_condition = [&](const std::string& status) {
    auto got =
        cp_client_->Get(kube::resources::VolumeBackupSchedule(), kNs, "partitioned-schedule");
    const Json* conditions = got.ok() ? JsonAt(*got, {"status", "conditions"}) : nullptr;
    if (conditions == nullptr || !conditions->is_array()) return std::string();
    for (const Json& c : *conditions) {
      if (JsonStringAt(c, {"type"}) == "DataPlaneUnreachable" &&
          JsonStringAt(c, {"status"}) == status) {
        return JsonStringAt(c, {"message"});
      }
    }
    return std::string();
  };
  // Upstream's schedule CRD has no status.conditions: the API server prunes the condition.
  const bool schedule_conditions_kept = !UpstreamFederationCrds();
  EXPECT_TRUE(
      !schedule_conditions_kept ||
      WaitFor([&] { return schedule_condition("True").find("cluster c2") != std::string::npos; },
              120s))
      << ManagerLog();
  frozen.Signal(SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return Reachable("c2", 1); }, 120s)) << Metrics(*manager_);
  EXPECT_TRUE(Reachable("c1", 1)) << Metrics(*manager_);
  EXPECT_NE(ManagerLog().find("data plane reachable again"), std::string::npos) << ManagerLog();
  EXPECT_EQ(JsonStringAt(WaitPhase("partitioned", {"Complete", "Failed", "Invalid"}, 120s),
                         {"status", "phase"}),
            "Complete")
      << ManagerLog();
  EXPECT_TRUE(WaitFor([&] { return !condition("False").empty(); }, 60s))
      << DumpJson(Get("partitioned"));
  EXPECT_TRUE(!schedule_conditions_kept ||
              WaitFor([&] { return !schedule_condition("False").empty(); }, 60s));
  EXPECT_TRUE(
      cp_client_->Delete(kube::resources::VolumeBackupSchedule(), kNs, "partitioned-schedule")
          .ok());
}

// Issue 18, item 2: a data plane frozen with SIGSTOP (a partition) before its member exists.
// The backup fails with PauseBudgetExceeded naming it once the annotation's budget (3s) has run
// out, and the pause held in the initialize member's data plane is released while the other is
// still frozen.
TEST_F(ManagerEnv, PauseBudgetFailsABackupWithAFrozenDataPlaneAndReleasesThePause) {
  ASSERT_NO_FATAL_FAILURE(StartProbingManager("manager-budget"));
  Process& frozen = *env_->data_plane("c2").process;
  Frozen partition(frozen);
  ASSERT_TRUE(WaitFor([&] { return Reachable("c2", 0); }, 120s)) << Metrics(*manager_);

  Json vb = VolumeBackup("budget", {"c1", "c2"});
  vb["metadata"]["annotations"] = {{"federation.pingcap.com/gc-pause-budget", "3s"}};
  ASSERT_TRUE(Create(vb).ok());
  Json done = WaitPhase("budget", {"Complete", "Failed", "Invalid"}, 120s);
  ASSERT_EQ(JsonStringAt(done, {"status", "phase"}), "Failed") << DumpJson(done) << ManagerLog();
  const Json* failed = TrueCondition(done, "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(JsonStringAt(*failed, {"reason"}), "PauseBudgetExceeded");
  EXPECT_NE(JsonStringAt(*failed, {"message"}).find("cluster c2"), std::string::npos)
      << JsonStringAt(*failed, {"message"});
  EXPECT_EQ(JsonStringAt(*failed, {"message"}).find("cluster c1 ("), std::string::npos)
      << JsonStringAt(*failed, {"message"});
  // The simulator's audit shows the pause of the initialize member (in c1) released, with c2
  // still frozen.
  EXPECT_TRUE(WaitFor(
      [] { return Audited(env_->audit_log(), "pd_resume", "holder", "c1/tidb/fed-budget/"); }, 60s))
      << testing::ReadFile(env_->audit_log());
  EXPECT_TRUE(WaitFor(
      [] {
        return Metrics(*manager_).find(
                   "brfed_volume_backup_pause_budget_exceeded_total{namespace=\"default\"} 1") !=
               std::string::npos;
      },
      30s))
      << Metrics(*manager_);
  frozen.Signal(SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return Reachable("c2", 1); }, 120s)) << Metrics(*manager_);
  EXPECT_EQ(JsonStringAt(Get("budget"), {"status", "phase"}), "Failed");
}

TEST_F(ManagerEnv, ZzAuditLogIsClean) {
  auto result = env_->CheckAuditLog();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

// Issue 18, finding 1, on its own federation (its API servers keep their data in a --data-dir,
// so one can be restarted empty): c2's API server is killed mid-backup and started again
// without its data. The manager's member cache must notice (its resume is answered
// ResourceVersionTooLarge, so it relists and drops the member), the backup must fail naming
// c2, and the pause held by the initialize member in c1 must be released.
TEST(EmptyDataPlaneRestart, FailsTheBackupNamingTheClusterAndReleasesThePause) {
  testing::FederationEnvOptions options;
  options.ns = kNs;
  options.data_planes = {"c1", "c2"};
  options.persistent = true;
  auto started = testing::FederationEnv::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  testing::FederationEnv& env = **started;
  ASSERT_TRUE(WaitFor([&] { return env.RememberTidbClusters().ok(); }, 60s));
  auto manager = env.StartManager("manager-reset");
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  auto cp = ClientFor(env.control_plane().kubeconfig);
  auto c2 = ClientFor(env.data_plane("c2").kubeconfig);
  ASSERT_NE(cp, nullptr);
  ASSERT_NE(c2, nullptr);
  auto get = [&] {
    auto r = cp->Get(kube::resources::VolumeBackup(), kNs, "reset");
    return r.ok() ? *r : Json();
  };
  // c2's member hangs, so the backup is mid-flight with the pause held in c1.
  ASSERT_EQ(env.sim_admin().Request("POST", "/faults", R"({"fault":"hang@c2/fed-reset"})").status,
            201);
  ASSERT_TRUE(cp->Create(kube::resources::VolumeBackup(), kNs,
                         testing::VolumeBackupObject(kNs, "reset", {"c1", "c2"}))
                  .ok());
  auto c2_entry_phase = [&] {
    const Json current = get();
    const Json* backups = JsonAt(current, {"status", "backups"});
    if (backups == nullptr || !backups->is_array()) return std::string();
    for (const Json& e : *backups) {
      if (JsonStringAt(e, {"k8sClusterName"}) == "c2") return JsonStringAt(e, {"phase"});
    }
    return std::string();
  };
  ASSERT_TRUE(WaitFor([&] { return !c2_entry_phase().empty(); }, 120s))
      << DumpJson(get()) << (*manager)->Log();
  ASSERT_EQ(JsonStringAt(get(), {"status", "phase"}), "Running") << DumpJson(get());

  ASSERT_TRUE(env.RestartApiServer("c2", /*keep_data=*/false).ok());
  EXPECT_TRUE(c2->Get(kube::resources::Backup(), "tidb", "fed-reset").status().code() ==
              Code::kNotFound);

  Json done;
  ASSERT_TRUE(WaitFor(
      [&] {
        done = get();
        return JsonStringAt(done, {"status", "phase"}) == "Failed";
      },
      180s))
      << DumpJson(done) << (*manager)->Log();
  const Json* failed = TrueCondition(done, "Failed");
  ASSERT_NE(failed, nullptr) << DumpJson(done);
  const std::string message = JsonStringAt(*failed, {"message"});
  EXPECT_NE(message.find("fed-reset in cluster c2: vanished"), std::string::npos) << message;
  // The member was not created again in the emptied data plane.
  EXPECT_EQ(c2->Get(kube::resources::Backup(), "tidb", "fed-reset").status().code(),
            Code::kNotFound);
  // The pause held by the initialize member in c1 is released, and the audit is clean.
  EXPECT_TRUE(WaitFor(
      [&] { return Audited(env.audit_log(), "pd_resume", "holder", "c1/tidb/fed-reset/"); }, 60s))
      << testing::ReadFile(env.audit_log());
  // The simulator's relist found its member gone and says so, which the audit check needs to
  // tell a job that ran on after the loss from a snapshot outside the pause.
  EXPECT_TRUE(WaitFor(
      [&] { return Audited(env.audit_log(), "member_vanished", "owner", "c2/tidb/fed-reset/"); },
      60s))
      << testing::ReadFile(env.audit_log());
  env.sim_admin().Request("DELETE", "/faults");
  auto audit = env.CheckAuditLog();
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

// An empty restart takes a data plane's members, and with an initialize member the pause its
// job held: the simulator audits member_vanished. When a member of the same name is created
// again before the simulator has relisted (chaos seed 10057: the simulator had not looked yet),
// its relist finds another object under the old name instead of none. The first one's pause
// went all the same, or the audit check would wait for a release that cannot come.
TEST(EmptyDataPlaneRestart, AMemberCreatedAgainBeforeTheRelistTakesTheOldPauseWithIt) {
  testing::FederationEnvOptions options;
  options.ns = kNs;
  options.data_planes = {"c1"};
  options.persistent = true;
  auto started = testing::FederationEnv::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  testing::FederationEnv& env = **started;
  ASSERT_TRUE(WaitFor([&] { return env.RememberTidbClusters().ok(); }, 60s));
  auto c1 = ClientFor(env.data_plane("c1").kubeconfig);
  ASSERT_NE(c1, nullptr);
  const Json member = {{"apiVersion", "pingcap.com/v1alpha1"},
                       {"kind", "Backup"},
                       {"metadata", {{"name", "fed-swap"}, {"namespace", "tidb"}}},
                       {"spec",
                        {{"backupMode", "volume-snapshot"},
                         {"backupType", "full"},
                         {"federalVolumeBackupPhase", "initialize"},
                         {"br", {{"cluster", "basic"}, {"clusterNamespace", "tidb"}}},
                         {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", "swap"}}}}}};
  auto initialized = [&](const std::string& uid) {
    auto r = c1->Get(kube::resources::Backup(), "tidb", "fed-swap");
    return r.ok() && JsonStringAt(*r, {"metadata", "uid"}) == uid &&
           TrueCondition(*r, "VolumeBackupInitialized") != nullptr;
  };
  auto first = c1->Create(kube::resources::Backup(), "tidb", member);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string first_uid = JsonStringAt(*first, {"metadata", "uid"});
  ASSERT_TRUE(WaitFor([&] { return initialized(first_uid); }, 60s)) << env.SimLog();

  env.simulator().Signal(SIGSTOP);
  const Status restarted = env.RestartApiServer("c1", /*keep_data=*/false);
  auto second = restarted.ok() ? c1->Create(kube::resources::Backup(), "tidb", member)
                               : Result<Json>(restarted);
  env.simulator().Signal(SIGCONT);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const std::string second_uid = JsonStringAt(*second, {"metadata", "uid"});
  ASSERT_NE(second_uid, first_uid);

  EXPECT_TRUE(WaitFor(
      [&] {
        return Audited(env.audit_log(), "member_vanished", "owner",
                       "c1/tidb/fed-swap/" + first_uid);
      },
      60s))
      << testing::ReadFile(env.audit_log()) << env.SimLog();
  // The second member pauses on its own; deleting it releases that pause.
  ASSERT_TRUE(WaitFor([&] { return initialized(second_uid); }, 60s)) << env.SimLog();
  ASSERT_TRUE(c1->Delete(kube::resources::Backup(), "tidb", "fed-swap").ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        return Audited(env.audit_log(), "pd_resume", "holder", "c1/tidb/fed-swap/" + second_uid);
      },
      60s))
      << testing::ReadFile(env.audit_log());
  auto audit = env.CheckAuditLog();
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

// On EKS every data-plane token comes from an exec plugin (`aws eks get-token`, a third of a
// second a run). A data plane's three clients (informers and reads; the pause client; the
// prober's) share one credential: one run serves them all, and the pause client, used only
// inside a pause, never has to run the plugin there for a credential of its own.
TEST(ExecCredentialFederation, OnePluginRunServesEveryClientOfADataPlane) {
  testing::FederationEnvOptions options;
  options.ns = kNs;
  options.data_planes = {"c1", "c2"};
  options.exec_plugin = testing::ExecPluginOptions{};  // tokens that last an hour
  auto started = testing::FederationEnv::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  testing::FederationEnv& env = **started;
  auto manager = env.StartManager("manager-exec");
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  auto cp = ClientFor(env.control_plane().kubeconfig);
  ASSERT_NE(cp, nullptr);
  ASSERT_TRUE(cp->Create(kube::resources::VolumeBackup(), kNs,
                         testing::VolumeBackupObject(kNs, "exec", {"c1", "c2"}))
                  .ok());
  Json vb;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = cp->Get(kube::resources::VolumeBackup(), kNs, "exec");
        vb = r.ok() ? *r : Json();
        return JsonStringAt(vb, {"status", "phase"}) == "Complete";
      },
      120s))
      << DumpJson(vb) << (*manager)->Log();
  // By now every client of both data planes has made requests: the informers listed at start,
  // the prober probed during the start, the pause clients wrote the execute members, `execute`
  // and `resumeGcSchedule`. Each client on its own credential would have run the plugin three
  // times per data plane.
  EXPECT_EQ(testing::ExecPluginRuns(env.exec_plugin_runs_log()),
            (std::map<std::string, int>{{"c1", 1}, {"c2", 1}}))
      << testing::ReadFile(env.exec_plugin_runs_log()) << (*manager)->Log();
}

}  // namespace
}  // namespace brfed
