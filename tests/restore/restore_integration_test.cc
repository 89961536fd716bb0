// VolumeRestoreController against real brfed-apiserver processes: one control plane and two
// data planes on loopback. The controller runs in-process over real clients and informers (a
// "manager" here is the controller plus its data-plane caches; killing it drops both), and the
// test plays TiDB Operator by writing member Restore status, following the data-plane contract.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "api/labels.h"
#include "api/volume_restore.h"
#include "federation/data_planes.h"
#include "federation/restore_controller.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "runtime/event_recorder.h"
#include "runtime/informer.h"
#include "runtime/informer_factory.h"
#include "runtime/status_writer.h"
#include "tests/harness/harness.h"

namespace brfed {
namespace {

using namespace std::chrono_literals;

Result<std::shared_ptr<kube::Client>> ClientOf(const testing::ApiServer& server) {
  BRFED_ASSIGN_OR_RETURN(auto kubeconfig, kube::Kubeconfig::LoadFile(server.kubeconfig));
  BRFED_ASSIGN_OR_RETURN(auto config, kubeconfig.ForContext(""));
  return kube::NewClient(config);
}

// DataPlanes over fixed clients: a label-selected Restore informer per cluster.
class TestDataPlanes final : public federation::DataPlanes {
 public:
  explicit TestDataPlanes(const std::map<std::string, std::shared_ptr<kube::Client>>& clients) {
    for (const auto& [name, client] : clients) {
      auto plane = std::make_shared<federation::DataPlane>();
      plane->name = name;
      plane->client = client;
      runtime::InformerOptions options;
      options.label_selector = std::string(api::kManagedBySelector);
      plane->restores =
          std::make_shared<runtime::Informer>(client, kube::resources::Restore(), options);
      planes_[name] = plane;
    }
  }
  ~TestDataPlanes() override {
    for (auto& [_, p] : planes_) p->restores->Stop();
  }
  std::vector<std::string> Names() const override {
    std::vector<std::string> out;
    for (const auto& [name, _] : planes_) out.push_back(name);
    return out;
  }
  std::shared_ptr<const federation::DataPlane> Get(std::string_view name) const override {
    auto it = planes_.find(std::string(name));
    return it == planes_.end() ? nullptr : it->second;
  }
  void AddMemberHandler(const kube::Resource& resource, MemberHandler handler) override {
    if (resource.plural != "restores") return;
    for (auto& [name, plane] : planes_) {
      auto call = [handler, cluster = name](const Json& obj) { handler(cluster, obj); };
      plane->restores->AddHandlers(
          {call, [call](const Json&, const Json& obj) { call(obj); }, call});
    }
  }
  void AddClusterChangeHandler(std::function<void()>) override {}
  bool Start() {
    for (auto& [_, p] : planes_) p->restores->Start();
    for (auto& [_, p] : planes_) {
      if (!p->restores->WaitForSync(std::chrono::milliseconds(20000))) return false;
    }
    return true;
  }

 private:
  std::map<std::string, std::shared_ptr<federation::DataPlane>> planes_;
};

// One br-federation-manager incarnation (restore controller only).
struct Manager {
  Manager(std::shared_ptr<kube::Client> control,
          const std::map<std::string, std::shared_ptr<kube::Client>>& clients)
      : planes(clients),
        events(control, "br-federation-manager"),
        informers(control),
        status_writer(control) {
    federation::ControllerDeps deps;
    deps.control_plane = control;
    deps.informers = &informers;
    deps.status_writer = &status_writer;
    deps.data_planes = &planes;
    deps.events = &events;
    deps.metrics = &metrics;
    deps.workers = 2;
    controller = std::make_unique<federation::VolumeRestoreController>(deps);
  }
  ~Manager() {
    controller->Stop();
    informers.Stop();  // their handlers point into the controller
    events.Stop();
  }
  Status Start() {
    if (!planes.Start()) return UnavailableError("data-plane caches did not sync");
    return controller->Start();
  }
  TestDataPlanes planes;
  runtime::EventRecorder events;
  runtime::MetricsRegistry metrics;
  std::unique_ptr<federation::VolumeRestoreController> controller;
  runtime::SharedInformerFactory informers;
  runtime::StatusWriter status_writer;
};

bool HasCondition(const Json& obj, std::string_view type) {
  const Json* conds = JsonAt(obj, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return false;
  for (const auto& c : *conds) {
    if (c.value("type", "") == type && c.value("status", "") == "True") return true;
  }
  return false;
}

class RestoreIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto start = [&](const std::string& name, std::vector<std::string> crd_args) {
      testing::ApiServerOptions o;
      o.dir = dir_.path();
      o.name = name;
      o.extra_args = std::move(crd_args);
      return testing::StartApiServer(o);
    };
    auto control = start(
        "control", {"--crd", testing::FederationCrd("federation.pingcap.com_volumerestores.yaml"),
                    "--crd", testing::FederationCrd("federation.pingcap.com_volumebackups.yaml")});
    ASSERT_TRUE(control.ok()) << control.status().ToString();
    control_server_ = std::move(control).value();
    auto c = ClientOf(control_server_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    control_ = *c;
    CreateNamespace(*control_, "fed");
    for (std::string name : {"a", "b"}) {
      auto s = start("plane-" + name, testing::DataPlaneCrdArgs(testing::TestBackend()));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      auto client = ClientOf(*s);
      ASSERT_TRUE(client.ok()) << client.status().ToString();
      planes_[name] = *client;
      CreateNamespace(**client, "ns-" + name);
      servers_.push_back(std::move(s).value());
    }
  }

  static void CreateNamespace(kube::Client& client, const std::string& ns) {
    auto r =
        client.Create(kube::resources::Namespace(), "",
                      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    ASSERT_TRUE(r.ok() || r.status().code() == Code::kAlreadyExists) << r.status().ToString();
  }

  void CreateRestore(const Json& spec) {
    Json vr = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
               {"kind", "VolumeRestore"},
               {"metadata", {{"name", "r"}, {"namespace", "fed"}}},
               {"spec", spec}};
    auto r = control_->Create(kube::resources::VolumeRestore(), "fed", vr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Json Restore() {
    auto r = control_->Get(kube::resources::VolumeRestore(), "fed", "r");
    return r.ok() ? *r : Json();
  }
  std::optional<Json> Member(const std::string& cluster) {
    auto r = planes_[cluster]->Get(kube::resources::Restore(), "ns-" + cluster, "fed-r");
    if (!r.ok()) return std::nullopt;
    return *r;
  }
  // Writes one more member condition, as TiDB Operator would (sync warm-up), or the given
  // failure. Returns false when there was nothing to do.
  bool OperatorStep(const std::string& cluster, const std::string& fail_reason = "") {
    auto m = Member(cluster);
    if (!m) return false;
    if (HasCondition(*m, "Failed") || HasCondition(*m, "Complete")) return false;
    const std::string phase = JsonStringAt(*m, {"spec", "federalVolumeRestorePhase"});
    if (phase == "restore-data") data_runs_.insert(cluster);
    Json status = m->value("status", Json::object());
    if (!status.contains("conditions")) status["conditions"] = Json::array();
    std::string next;
    if (!fail_reason.empty()) {
      next = "Failed";
    } else if (!HasCondition(*m, "VolumeComplete")) {
      next = "VolumeComplete";
      status["commitTs"] = cluster == "a" ? "443000000000000200" : "443000000000000100";
    } else if (!HasCondition(*m, "WarmUpStarted")) {
      next = "WarmUpStarted";
    } else if (!HasCondition(*m, "WarmUpComplete")) {
      next = "WarmUpComplete";
    } else if (!HasCondition(*m, "TikvComplete")) {
      next = "TikvComplete";
    } else if (phase == "restore-data" && !HasCondition(*m, "DataComplete")) {
      next = "DataComplete";
    } else if (phase == "restore-finish") {
      next = "Complete";
    } else {
      return false;
    }
    Json cond = {{"type", next}, {"status", "True"}};
    if (!fail_reason.empty()) {
      cond["reason"] = fail_reason;
      cond["message"] = "injected by the test";
    }
    status["conditions"].push_back(cond);
    status["phase"] = next;
    Json patch = {{"metadata", {{"resourceVersion", (*m)["metadata"]["resourceVersion"]}}},
                  {"status", status}};
    auto r = planes_[cluster]->Patch(kube::resources::Restore(), "ns-" + cluster, "fed-r",
                                     kube::PatchType::kMerge, patch, "status");
    if (!r.ok() && r.status().code() == Code::kNotFound) {
      r = planes_[cluster]->Patch(kube::resources::Restore(), "ns-" + cluster, "fed-r",
                                  kube::PatchType::kMerge, patch);
    }
    return r.ok();
  }

  static Json Spec() {
    return Json::parse(R"({"clusters": [
        {"k8sClusterName": "a", "tcName": "tc", "tcNamespace": "ns-a",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-a"}}},
        {"k8sClusterName": "b", "tcName": "tc", "tcNamespace": "ns-b",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-b"}}}],
      "template": {"warmup": "sync", "warmupImage": "warmup:1"}})");
  }

  std::string Phase() { return JsonStringAt(Restore(), {"status", "phase"}); }

  testing::TempDir dir_;
  testing::ApiServer control_server_;
  std::vector<testing::ApiServer> servers_;
  std::shared_ptr<kube::Client> control_;
  std::map<std::string, std::shared_ptr<kube::Client>> planes_;
  std::set<std::string> data_runs_;
};

TEST_F(RestoreIntegrationTest, CompletesDespiteManagerRestartsAtRandomPoints) {
  ASSERT_NO_FATAL_FAILURE(CreateRestore(Spec()));
  std::mt19937 rng(7);
  auto manager = std::make_unique<Manager>(control_, planes_);
  ASSERT_TRUE(manager->Start().ok());
  std::map<std::string, std::string> uids;
  int restarts = 0, polls = 0;
  const bool done = testing::WaitFor(
      [&] {
        const std::string phase = Phase();
        if (phase == "Complete" || phase == "Failed" || phase == "Invalid") return true;
        for (std::string c : {"a", "b"}) {
          if (auto m = Member(c)) {
            const std::string uid = JsonStringAt(*m, {"metadata", "uid"});
            EXPECT_TRUE(uids.emplace(c, uid).first->second == uid) << "member re-created in " << c;
            if (rng() % 2 == 0) OperatorStep(c);
          }
        }
        if (++polls % 3 == 0) {  // the manager dies and comes back
          manager.reset();
          manager = std::make_unique<Manager>(control_, planes_);
          EXPECT_TRUE(manager->Start().ok());
          ++restarts;
        }
        std::this_thread::sleep_for(10ms);
        return false;
      },
      90s);
  ASSERT_TRUE(done) << "phase " << Phase();
  Json vr = Restore();
  ASSERT_EQ(Phase(), "Complete") << vr.dump();
  EXPECT_GT(restarts, 0);
  EXPECT_EQ(JsonStringAt(vr, {"status", "commitTs"}), "443000000000000100");
  EXPECT_EQ(data_runs_, (std::set<std::string>{"b"}));  // restore-data once, smallest commitTs
  EXPECT_TRUE(HasCondition(vr, "WarmUpComplete"));
  EXPECT_TRUE(HasCondition(vr, "TikvComplete"));
  EXPECT_EQ(uids.size(), 2u);
  manager->events.Flush();
  auto events = control_->List(kube::resources::Event(), "fed");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  bool complete_event = false;
  for (const auto& e : (*events)["items"]) complete_event |= e.value("reason", "") == "Complete";
  EXPECT_TRUE(complete_event) << events->dump();
}

TEST_F(RestoreIntegrationTest, MemberFailureFailsNamingMemberAndReason) {
  ASSERT_NO_FATAL_FAILURE(CreateRestore(Spec()));
  Manager manager(control_, planes_);
  ASSERT_TRUE(manager.Start().ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Member("a") && Member("b"); }, 30s));
  ASSERT_TRUE(OperatorStep("b"));
  ASSERT_TRUE(OperatorStep("a", "RestoreDataFromRemoteFailed"));
  ASSERT_TRUE(testing::WaitFor([&] { return Phase() == "Failed"; }, 30s)) << Phase();
  Json vr = Restore();
  std::string message;
  for (const auto& c : vr["status"]["conditions"]) {
    if (c["type"] == "Failed") {
      EXPECT_EQ(c["reason"], "VolumeRestoreMemberFailed");
      message = c.value("message", "");
    }
  }
  EXPECT_NE(message.find("restore member fed-r of cluster a is failed: "
                         "RestoreDataFromRemoteFailed"),
            std::string::npos)
      << message;
}

// A restore member whose VolumeRestore no longer exists (a pass of ours created it as the
// VolumeRestore was deleted) is deleted by the manager, on both backends.
TEST_F(RestoreIntegrationTest, AMemberWhoseVolumeRestoreIsGoneIsDeleted) {
  Json ghost = {
      {"metadata", {{"name", "ghost"}, {"namespace", "fed"}, {"uid", "uid-of-a-gone-one"}}},
      {"spec", Spec()}};
  auto view = api::ParseVolumeRestore(ghost);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  Json member = api::BuildRestoreMember(*view, view->clusters[0],
                                        {{"s3", {{"provider", "aws"}, {"bucket", "b"}}}});
  auto created = planes_["a"]->Create(kube::resources::Restore(), "ns-a", member);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string name = JsonStringAt(member, {"metadata", "name"});
  Manager manager(control_, planes_);
  ASSERT_TRUE(manager.Start().ok());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        return planes_["a"]->Get(kube::resources::Restore(), "ns-a", name).status().code() ==
               Code::kNotFound;
      },
      60s));
}

TEST_F(RestoreIntegrationTest, BadInputEndsInvalid) {
  Json spec = Spec();
  spec["clusters"][1]["k8sClusterName"] = "zz";
  spec["template"]["warmup"] = "lazy";
  ASSERT_NO_FATAL_FAILURE(CreateRestore(spec));
  Manager manager(control_, planes_);
  ASSERT_TRUE(manager.Start().ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Phase() == "Invalid"; }, 30s)) << Phase();
  const std::string text = Restore().dump();
  EXPECT_NE(text.find("spec.clusters[1].k8sClusterName \\\"zz\\\" is not a context"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warmup \\\"lazy\\\""), std::string::npos) << text;
  EXPECT_FALSE(Member("a").has_value());  // nothing created
}

}  // namespace
}  // namespace brfed
