// A schedule `@every 3s` with maxBackups 2, run by the real controller (informers, work queue,
// kube client) against an API server process (tests/harness: brfed-apiserver or kube). The test
// plays the VolumeBackup controller: it marks each new VolumeBackup Complete a moment after it
// appears, and checks at every observation that the schedule never has two unfinished backups.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "federation/volume_backup_schedule_controller.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "runtime/informer_factory.h"
#include "runtime/metrics.h"
#include "runtime/status_writer.h"
#include "tests/harness/harness.h"

namespace brfed::federation {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::WaitFor;

class OneDataPlane final : public DataPlanes {
 public:
  std::vector<std::string> Names() const override { return {"a"}; }
  std::shared_ptr<const DataPlane> Get(std::string_view) const override { return nullptr; }
  void AddMemberHandler(const kube::Resource&, MemberHandler) override {}
  void AddClusterChangeHandler(std::function<void()>) override {}
};

double ReconcileCount(const runtime::MetricsRegistry& metrics) {
  std::istringstream in(metrics.Expose());
  double total = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("controller_runtime_reconcile_total{", 0) == 0 &&
        line.find("volumeBackupSchedule") != std::string::npos) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

TEST(ScheduleIntegrationTest, EveryThreeSecondsWithMaxBackupsTwo) {
  fs::path dir = fs::temp_directory_path() / ("brfed-schedule-" + std::to_string(getpid()));
  fs::create_directories(dir);
  testing::ApiServerOptions options;
  options.dir = dir.string();
  options.name = "apiserver";
  options.extra_args = {
      "--crd", testing::FederationCrd("federation.pingcap.com_volumebackups.yaml"), "--crd",
      testing::FederationCrd("federation.pingcap.com_volumebackupschedules.yaml")};
  Result<testing::ApiServer> apiserver = testing::StartApiServer(options);
  ASSERT_TRUE(apiserver.ok()) << apiserver.status().ToString();
  const std::string kubeconfig = apiserver->kubeconfig;
  Result<kube::Kubeconfig> config = kube::Kubeconfig::LoadFile(kubeconfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<kube::RestConfig> rest = config->ForContext("");
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  Result<std::shared_ptr<kube::Client>> client = kube::NewClient(*rest);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::shared_ptr<kube::Client> c = *client;
  (void)c->Create(
      kube::resources::Namespace(), "",
      Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "ns"}}}});

  OneDataPlane planes;
  runtime::MetricsRegistry metrics;
  // Declared before the informers, so the informers stop before the controller goes.
  std::unique_ptr<VolumeBackupScheduleController> controller;
  runtime::SharedInformerFactory informers(c);
  runtime::StatusWriter status_writer(c);
  ControllerDeps deps;
  deps.control_plane = c;
  deps.informers = &informers;
  deps.status_writer = &status_writer;
  deps.data_planes = &planes;
  deps.metrics = &metrics;
  deps.workers = 2;
  controller = std::make_unique<VolumeBackupScheduleController>(deps);
  ASSERT_TRUE(controller->Start().ok());

  Json schedule = {
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeBackupSchedule"},
      {"metadata", {{"name", "s"}, {"namespace", "ns"}}},
      {"spec",
       {{"schedule", "@every 3s"},
        {"maxBackups", 2},
        {"backupTemplate",
         {{"clusters", {{{"k8sClusterName", "a"}, {"tcName", "tc"}, {"tcNamespace", "tidb"}}}},
          {"template",
           {{"br", Json::object()},
            {"s3", {{"provider", "aws"}, {"bucket", "b"}, {"prefix", "p"}}}}}}}}}};
  Result<Json> created = c->Create(kube::resources::VolumeBackupSchedule(), "ns", schedule);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  std::set<std::string> seen;
  std::map<std::string, std::chrono::steady_clock::time_point> first_seen;
  size_t max_unfinished = 0;
  std::vector<Json> last_items;
  auto step = [&] {
    Result<Json> list = c->List(kube::resources::VolumeBackup(), "ns");
    if (!list.ok()) return false;
    last_items = (*list)["items"].get<std::vector<Json>>();
    size_t unfinished = 0;
    for (const Json& vb : last_items) {
      const std::string name = vb["metadata"]["name"];
      seen.insert(name);
      if (JsonStringAt(vb, {"status", "phase"}) == "Complete") continue;
      ++unfinished;
      auto [it, inserted] = first_seen.emplace(name, std::chrono::steady_clock::now());
      if (!inserted && std::chrono::steady_clock::now() - it->second > 500ms) {
        Json patch = {{"status",
                       {{"phase", "Complete"},
                        {"timeCompleted", FormatRfc3339(std::chrono::system_clock::now())},
                        {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}}}};
        Result<Json> r = c->Patch(kube::resources::VolumeBackup(), "ns", name,
                                  kube::PatchType::kMerge, patch, "status");
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    }
    max_unfinished = std::max(max_unfinished, unfinished);
    bool all_complete = unfinished == 0;
    return seen.size() >= 4 && last_items.size() == 2 && all_complete;
  };
  ASSERT_TRUE(WaitFor(step, 60s)) << "seen " << seen.size() << ", present " << last_items.size();
  EXPECT_LE(max_unfinished, 1u) << "two backups of one schedule ran at once";

  // Names follow the slots; the two kept are the newest; none has an owner reference.
  for (const std::string& name : seen) EXPECT_EQ(name.rfind("s-20", 0), 0u) << name;
  std::set<std::string> present;
  for (const Json& vb : last_items) {
    present.insert(vb["metadata"]["name"].get<std::string>());
    EXPECT_FALSE(vb["metadata"].contains("ownerReferences"));
    EXPECT_EQ(vb["metadata"]["labels"]["tidb.pingcap.com/backup-schedule"], "s");
  }
  EXPECT_EQ(present, (std::set<std::string>{*std::prev(seen.end(), 2), *std::prev(seen.end())}));
  Result<Json> status = c->Get(kube::resources::VolumeBackupSchedule(), "ns", "s");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(JsonStringAt(*status, {"status", "lastBackup"}).rfind("s-20", 0), 0u);
  EXPECT_NE(metrics.Expose().find("brfed_schedule_backups_created_total{namespace=\"ns\","
                                  "schedule=\"s\"}"),
            std::string::npos);

  // Deleting the schedule leaves its backups: wait until the controller has run after the
  // deletion (a deleted schedule is not requeued, so its last pass saw it gone), then look.
  const double before = ReconcileCount(metrics);
  ASSERT_TRUE(c->Delete(kube::resources::VolumeBackupSchedule(), "ns", "s").ok());
  ASSERT_TRUE(WaitFor([&] { return ReconcileCount(metrics) >= before + 1; }, 30s));
  Result<Json> after = c->List(kube::resources::VolumeBackup(), "ns");
  ASSERT_TRUE(after.ok());
  std::set<std::string> remaining;
  for (const Json& vb : (*after)["items"]) remaining.insert(vb["metadata"]["name"]);
  EXPECT_EQ(remaining, present);

  controller->Stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace brfed::federation
