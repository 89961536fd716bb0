#include "federation/restore_controller.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/labels.h"
#include "api/volume_restore.h"
#include "federation/restore_decide.h"
#include "kube/resource.h"
#include "kube/testing/unused_client.h"

namespace brfed::federation {
namespace {

// An in-memory API server for one cluster: Create/Patch(merge, resourceVersion precondition,
// optional status subresource)/Delete on any resource, keyed by plural/ns/name.
class FakeClient final : public kube::testing::UnusedClient {
 public:
  explicit FakeClient(std::string name, bool status_subresource = true)
      : UnusedClient(std::move(name)), status_subresource_(status_subresource) {}

  Result<Json> Get(const kube::Resource& r, std::string_view ns, std::string_view n) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = objects_.find(Key(r, ns, n));
    if (it == objects_.end()) return Status(Code::kNotFound, "not found");
    return it->second;
  }
  Result<Json> List(const kube::Resource&, std::string_view, const kube::ListOptions&) override {
    return InternalError("List must not be called by a reconciler");
  }
  Result<Json> Create(const kube::Resource& r, std::string_view ns, const Json& obj) override {
    std::lock_guard<std::mutex> l(mu_);
    const std::string k = Key(r, ns, obj["metadata"]["name"].get<std::string>());
    if (objects_.count(k)) return Status(Code::kAlreadyExists, "already exists");
    Json o = obj;
    o["metadata"]["resourceVersion"] = std::to_string(++rv_);
    o["metadata"]["uid"] = "uid-" + std::to_string(rv_);
    objects_[k] = o;
    ++creates;
    return o;
  }
  Result<Json> Patch(const kube::Resource& r, std::string_view ns, std::string_view n,
                     kube::PatchType type, const Json& patch,
                     std::string_view subresource) override {
    std::lock_guard<std::mutex> l(mu_);
    if (type != kube::PatchType::kMerge) return InternalError("merge patches only");
    if (subresource == "status" && !status_subresource_) return Status(Code::kNotFound, "404");
    auto it = objects_.find(Key(r, ns, n));
    if (it == objects_.end()) return Status(Code::kNotFound, "not found");
    if (fail_next_patch) {
      fail_next_patch = false;
      return Status(Code::kUnavailable, "injected");
    }
    const Json* want = JsonAt(patch, {"metadata", "resourceVersion"});
    if (want != nullptr && *want != it->second["metadata"]["resourceVersion"]) {
      ++conflicts;
      return Status(Code::kConflict, "stale resourceVersion");
    }
    Json p = patch;
    if (subresource == "status") {
      p = Json{{"status", patch.value("status", Json())}};
    } else if (status_subresource_) {
      p.erase("status");
    }
    it->second = ApplyMergePatch(it->second, p);
    it->second["metadata"]["resourceVersion"] = std::to_string(++rv_);
    if (JsonAt(it->second, {"metadata", "deletionTimestamp"}) != nullptr &&
        JsonAt(it->second, {"metadata", "finalizers"})->empty()) {
      objects_.erase(it);
      return Json::object();
    }
    return it->second;
  }
  Status Delete(const kube::Resource& r, std::string_view ns, std::string_view n,
                const kube::DeleteOptions&) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!objects_.erase(Key(r, ns, n))) return Status(Code::kNotFound, "not found");
    ++deletes;
    return Status::Ok();
  }

  // Every object of `r` (a list without the List call a reconciler must not make).
  std::vector<Json> All(const kube::Resource& r) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Json> out;
    for (const auto& [k, v] : objects_) {
      if (k.rfind(r.plural + "/", 0) == 0) out.push_back(v);
    }
    return out;
  }
  // Test-side access (bypasses preconditions; bumps resourceVersion like a real write).
  Json& Object(const kube::Resource& r, std::string_view ns, std::string_view n) {
    return objects_.at(Key(r, ns, n));
  }
  bool Has(const kube::Resource& r, std::string_view ns, std::string_view n) const {
    return objects_.count(Key(r, ns, n)) > 0;
  }
  void Put(const kube::Resource& r, Json obj) {
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    const std::string k = Key(r, obj["metadata"]["namespace"].get<std::string>(),
                              obj["metadata"]["name"].get<std::string>());
    objects_[k] = std::move(obj);
  }

  int creates = 0, deletes = 0, conflicts = 0;
  bool fail_next_patch = false;

 private:
  static std::string Key(const kube::Resource& r, std::string_view ns, std::string_view n) {
    return r.plural + "/" + std::string(ns) + "/" + std::string(n);
  }
  bool status_subresource_;
  std::mutex mu_;
  std::map<std::string, Json> objects_;
  int rv_ = 10;
};

// The priority client of one data plane (DataPlane::pause_client): the same server, counting
// the patches sent through it. Anything else sent on it fails (UnusedClient).
class PriorityClient final : public kube::testing::UnusedClient {
 public:
  explicit PriorityClient(std::shared_ptr<FakeClient> server)
      : UnusedClient("priority"), server_(std::move(server)) {}
  Result<Json> Patch(const kube::Resource& r, std::string_view ns, std::string_view n,
                     kube::PatchType type, const Json& patch,
                     std::string_view subresource) override {
    ++patches;
    return server_->Patch(r, ns, n, type, patch, subresource);
  }
  int patches = 0;

 private:
  std::shared_ptr<FakeClient> server_;
};

// Data planes whose "cache" is the fake server itself (always fresh), selecting our managed-by
// label as the real member informers do.
class FakeDataPlanes final : public RestoreClusterView {
 public:
  std::set<std::string> ClusterNames() const override {
    std::set<std::string> out;
    for (const auto& [name, _] : clients) out.insert(name);
    return out;
  }
  std::set<std::string> ObservableClusters() const override { return ClusterNames(); }
  std::shared_ptr<kube::Client> ClientFor(const std::string& cluster) const override {
    auto it = clients.find(cluster);
    return it == clients.end() ? nullptr : it->second;
  }
  std::shared_ptr<kube::Client> PriorityClientFor(const std::string& cluster) const override {
    auto it = priority_clients.find(cluster);
    return it == priority_clients.end() ? nullptr : it->second;
  }
  runtime::ObjectPtr CachedRestore(const std::string& cluster,
                                   const ObjectKey& key) const override {
    if (auto kept = stale.find(cluster); kept != stale.end()) return kept->second;
    auto it = clients.find(cluster);
    if (it == clients.end()) return nullptr;
    auto r = it->second->Get(kube::resources::Restore(), key.ns, key.name);
    if (!r.ok() || JsonStringAt(*r, {"metadata", "labels", api::kManagedByLabel}).empty()) {
      return nullptr;
    }
    return std::make_shared<const Json>(*r);
  }
  std::vector<OrphanedMember> CachedRestoresOwnedBy(const std::string& key) const override {
    std::vector<OrphanedMember> out;
    for (const auto& [cluster, client] : clients) {
      for (Json& m : client->All(kube::resources::Restore())) {
        if (RestoreReconciler::OwnerKey(m) == key) {
          out.push_back({cluster, std::make_shared<const Json>(std::move(m))});
        }
      }
    }
    return out;
  }
  std::map<std::string, std::shared_ptr<FakeClient>> clients;
  std::map<std::string, std::shared_ptr<PriorityClient>> priority_clients;  // none by default
  // A stale cache: this cluster's member as the cache shows it, whatever its server holds.
  std::map<std::string, runtime::ObjectPtr> stale;
};

class RestoreControllerTest : public ::testing::Test {
 protected:
  explicit RestoreControllerTest(bool status_subresource = true)
      : control_(std::make_shared<FakeClient>("control", status_subresource)), metrics_(registry_) {
    for (auto name : {"a", "b"}) planes_.clients[name] = std::make_shared<FakeClient>(name);
    RestoreReconciler::Deps deps;
    deps.control = control_;
    deps.volume_restores = &vr_store_;
    deps.volume_backups = &vb_store_;
    deps.clusters = &planes_;
    deps.events = [this](const Json&, std::string_view type, std::string_view reason,
                         std::string_view message) {
      events_.push_back(std::string(type) + " " + std::string(reason) + ": " +
                        std::string(message));
    };
    deps.metrics = &metrics_;
    deps.clock = &clock_;
    deps.on_stale_member_cache = [this](const std::string& cluster, const kube::Resource& r,
                                        const std::string& why) {
      stale_caches_.push_back(cluster + " " + r.plural + ": " + why);
    };
    controller_ = std::make_unique<RestoreReconciler>(std::move(deps));
  }

  void CreateRestore(Json spec) {
    control_->Put(kube::resources::VolumeRestore(),
                  {{"apiVersion", "federation.pingcap.com/v1alpha1"},
                   {"kind", "VolumeRestore"},
                   {"metadata", {{"name", "r"}, {"namespace", "fed"}, {"uid", "u-r"}}},
                   {"spec", std::move(spec)}});
    Sync();
  }
  // The informer's job: copy the server's object into the cache.
  void Sync() {
    if (control_->Has(kube::resources::VolumeRestore(), "fed", "r")) {
      vr_store_.Upsert(std::make_shared<const Json>(Vr()));
    } else {
      vr_store_.Remove({"fed", "r"});
    }
  }
  Json& Vr() { return control_->Object(kube::resources::VolumeRestore(), "fed", "r"); }
  Json& Member(const std::string& cluster, const std::string& ns) {
    return planes_.clients[cluster]->Object(kube::resources::Restore(), ns, "fed-r");
  }
  void SetMember(const std::string& cluster, const std::string& ns, const std::string& type) {
    Json& m = Member(cluster, ns);
    m["status"]["conditions"].push_back({{"type", type}, {"status", "True"}});
    m["status"]["phase"] = type;
  }
  Result<runtime::ReconcileOutcome> Reconcile() {
    auto r = controller_->Reconcile("fed/r");
    Sync();
    return r;
  }
  bool VrTrue(std::string_view type) {
    return api::IsRestoreConditionTrue(
        api::ParseVolumeRestoreStatus(Vr().value("status", Json()))->conditions, type);
  }

  static Json TwoClusters() {
    return Json::parse(R"({"clusters": [
        {"k8sClusterName": "a", "tcName": "tc", "tcNamespace": "ns-a",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-a"}}},
        {"k8sClusterName": "b", "tcName": "tc", "tcNamespace": "ns-b",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-b"}}}]})");
  }

  std::shared_ptr<FakeClient> control_;
  FakeDataPlanes planes_;
  runtime::Cache vr_store_, vb_store_;
  runtime::MetricsRegistry registry_;
  RestoreMetrics metrics_;
  FakeClock clock_;
  std::vector<std::string> events_;
  std::vector<std::string> stale_caches_;  // what on_stale_member_cache was told
  std::unique_ptr<RestoreReconciler> controller_;
};

TEST_F(RestoreControllerTest, DrivesARestoreToCompleteWithEventsAndMetrics) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(Vr()["metadata"]["finalizers"], Json::array({"tidb.pingcap.com/restore-protection"}));
  EXPECT_TRUE(VrTrue("Running"));
  EXPECT_EQ(Member("a", "ns-a")["spec"]["federalVolumeRestorePhase"], "restore-volume");
  EXPECT_EQ(Member("b", "ns-b")["spec"]["s3"]["prefix"], "p-b");
  EXPECT_EQ(RestoreReconciler::OwnerKey(Member("a", "ns-a")), "fed/r");

  Member("a", "ns-a")["status"]["commitTs"] = "20";
  Member("b", "ns-b")["status"]["commitTs"] = "10";
  SetMember("a", "ns-a", "VolumeComplete");
  SetMember("b", "ns-b", "VolumeComplete");
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("VolumeComplete"));
  SetMember("a", "ns-a", "TikvComplete");
  SetMember("b", "ns-b", "TikvComplete");
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(Member("b", "ns-b")["spec"]["federalVolumeRestorePhase"], "restore-data");
  EXPECT_EQ(Member("a", "ns-a")["spec"]["federalVolumeRestorePhase"], "restore-volume");
  SetMember("b", "ns-b", "DataComplete");
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(Member("a", "ns-a")["spec"]["federalVolumeRestorePhase"], "restore-finish");
  EXPECT_EQ(Member("b", "ns-b")["spec"]["federalVolumeRestorePhase"], "restore-finish");
  SetMember("a", "ns-a", "Complete");
  SetMember("b", "ns-b", "Complete");
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("Complete"));
  EXPECT_EQ(Vr()["status"]["commitTs"], "10");
  EXPECT_EQ(Vr()["status"]["timeTaken"], "30s");

  EXPECT_FALSE(events_.empty());
  EXPECT_EQ(events_.back(), "Normal Complete: restore complete at commitTs 10");
  const std::string exposed = registry_.Expose();
  EXPECT_NE(exposed.find("fed_volume_restore_status{namespace=\"fed\",status=\"Complete\"} 1"),
            std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("fed_volume_restore_step_duration_seconds_count{namespace=\"fed\","
                         "step=\"RestoreVolume\"} 1"),
            std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("fed_volume_restore_total_time_seconds_sum{namespace=\"fed\","
                         "status=\"Complete\"} 30"),
            std::string::npos)
      << exposed;
  EXPECT_EQ(planes_.clients["a"]->creates + planes_.clients["b"]->creates, 2);
}

// Issue 16: restore-data and restore-finish, the patches the restore waits on, go on each data
// plane's priority client; creates and the control plane's writes do not.
TEST_F(RestoreControllerTest, PhasePatchesGoOnThePriorityClient) {
  for (auto name : {"a", "b"}) {
    planes_.priority_clients[name] = std::make_shared<PriorityClient>(planes_.clients[name]);
  }
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  ASSERT_EQ(planes_.clients["a"]->creates + planes_.clients["b"]->creates, 2);
  EXPECT_EQ(planes_.priority_clients["a"]->patches + planes_.priority_clients["b"]->patches, 0);
  Member("a", "ns-a")["status"]["commitTs"] = "20";
  Member("b", "ns-b")["status"]["commitTs"] = "10";
  for (auto type : {"VolumeComplete", "TikvComplete"}) {
    SetMember("a", "ns-a", type);
    SetMember("b", "ns-b", type);
    ASSERT_TRUE(Reconcile().ok());
  }
  EXPECT_EQ(Member("b", "ns-b")["spec"]["federalVolumeRestorePhase"], "restore-data");
  EXPECT_EQ(planes_.priority_clients["b"]->patches, 1);
  EXPECT_EQ(planes_.priority_clients["a"]->patches, 0);
  SetMember("b", "ns-b", "DataComplete");
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(Member("a", "ns-a")["spec"]["federalVolumeRestorePhase"], "restore-finish");
  EXPECT_EQ(planes_.priority_clients["a"]->patches, 1);
  EXPECT_EQ(planes_.priority_clients["b"]->patches, 2);
}

// Hand-over: members the Go manager built are in no cache of ours; a Running VolumeRestore
// reads them past the cache, adopts them (no create) and drives them to the end.
TEST_F(RestoreControllerTest, GoBuiltMembersAreReadPastTheCacheAndAdopted) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());  // what the Go manager did: members, Running
  ASSERT_TRUE(VrTrue("Running"));
  Vr()["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  for (auto [cluster, ns] : {std::pair{"a", "ns-a"}, {"b", "ns-b"}}) {
    Json& m = Member(cluster, ns);
    m["metadata"].erase("labels");
    m["metadata"].erase("annotations");
    m["metadata"]["creationTimestamp"] = "2026-01-01T00:00:01Z";
  }
  Sync();
  // Our reconciler stood in for the Go manager; a manager taking over holds no expectations of
  // those writes, so let them expire.
  clock_.Advance(runtime::WriteExpectations::kDefaultTtl + std::chrono::seconds(1));
  const int creates = planes_.clients["a"]->creates + planes_.clients["b"]->creates;
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(Member("a", "ns-a")["metadata"]["labels"]["federation.pingcap.com/managed-by"],
            "br-federation-manager");
  EXPECT_EQ(RestoreReconciler::OwnerKey(Member("b", "ns-b")), "fed/r");
  EXPECT_EQ(events_.back().rfind("Normal Adopted: fed-r in cluster", 0), 0u) << events_.back();
  for (auto [cluster, ns] : {std::pair{"a", "ns-a"}, {"b", "ns-b"}}) {
    Member(cluster, ns)["status"]["commitTs"] = "10";
    SetMember(cluster, ns, "VolumeComplete");
  }
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("VolumeComplete"));
  EXPECT_EQ(planes_.clients["a"]->creates + planes_.clients["b"]->creates, creates);
}

// Chaos seed 20189: b's API server lost its data while the restore waited on b's member, and
// its cache kept the member (nothing was written to it, so nothing was answered NotFound). A
// waiting restore reads its cached members live every kMemberLiveCheckInterval, not sooner,
// and reports a member its server no longer has as a stale cache of that cluster.
TEST_F(RestoreControllerTest, AWaitingRestoreFindsACachedMemberItsServerLost) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  ASSERT_TRUE(VrTrue("Running"));
  planes_.stale["b"] = std::make_shared<const Json>(Member("b", "ns-b"));
  ASSERT_TRUE(planes_.clients["b"]->Delete(kube::resources::Restore(), "ns-b", "fed-r", {}).ok());
  clock_.Advance(runtime::WriteExpectations::kDefaultTtl + std::chrono::seconds(1));
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(stale_caches_.empty()) << "the first pass starts the clock";
  clock_.Advance(RestoreReconciler::kMemberLiveCheckInterval - std::chrono::seconds(1));
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(stale_caches_.empty()) << "not before the interval";
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Reconcile().ok());
  ASSERT_EQ(stale_caches_.size(), 1u);
  EXPECT_NE(stale_caches_[0].find("b restores"), std::string::npos) << stale_caches_[0];
  EXPECT_NE(stale_caches_[0].find("ns-b/fed-r"), std::string::npos) << stale_caches_[0];
}

// A VolumeRestore deleted while (or before) a pass of ours created its members, without our
// finalizer to hold it: the pass for its key finds the members the caches still show as its,
// confirms with the control plane that it is gone, and deletes them. While the server still
// has it (our cache lags its creation), nothing is deleted and the key is looked at again.
TEST_F(RestoreControllerTest, MembersWhoseVolumeRestoreIsGoneAreDeleted) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  ASSERT_TRUE(planes_.clients["a"]->Has(kube::resources::Restore(), "ns-a", "fed-r"));
  vr_store_.Remove({"fed", "r"});  // the cache lags: the server still has it
  auto lagging = controller_->Reconcile("fed/r");
  ASSERT_TRUE(lagging.ok()) << lagging.status().ToString();
  EXPECT_TRUE(lagging->requeue_after.has_value());
  EXPECT_EQ(planes_.clients["a"]->deletes + planes_.clients["b"]->deletes, 0);

  ASSERT_TRUE(control_->Delete(kube::resources::VolumeRestore(), "fed", "r", {}).ok());
  Sync();
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_FALSE(planes_.clients["a"]->Has(kube::resources::Restore(), "ns-a", "fed-r"));
  EXPECT_FALSE(planes_.clients["b"]->Has(kube::resources::Restore(), "ns-b", "fed-r"));
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(planes_.clients["a"]->deletes + planes_.clients["b"]->deletes, 2) << "once each";
}

TEST_F(RestoreControllerTest, StaleCacheConflictsAndRecovers) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  SetMember("a", "ns-a", "VolumeComplete");
  ASSERT_TRUE(Reconcile().ok());
  // Another writer changes the VolumeRestore and the cache has not seen it yet: the status
  // write is refused (no lost update). (A cache older than our OWN last write is never decided
  // on: StaleCacheOlderThanOurOwnWriteWaitsForItsEvent.)
  Vr()["metadata"]["labels"] = {{"someone", "else"}};
  Vr()["metadata"]["resourceVersion"] = "999";
  SetMember("b", "ns-b", "VolumeComplete");
  auto r = controller_->Reconcile("fed/r");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_TRUE(r.status().IsRetryable());
  EXPECT_FALSE(VrTrue("VolumeComplete"));
  Sync();
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("VolumeComplete"));
  EXPECT_EQ(planes_.clients["a"]->creates, 1);  // no duplicate member
}

// Issue 16: the reconciler records the resourceVersion of each of its writes and decides
// nothing on a cache that does not show it yet; the watch event of that write brings the key
// back (here: Sync), and no 409 is caused.
TEST_F(RestoreControllerTest, StaleCacheOlderThanOurOwnWriteWaitsForItsEvent) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  runtime::ObjectPtr before_our_write = vr_store_.Get({"fed", "r"});
  SetMember("a", "ns-a", "VolumeComplete");
  ASSERT_TRUE(Reconcile().ok());
  vr_store_.Upsert(before_our_write);
  SetMember("b", "ns-b", "VolumeComplete");
  const int conflicts = control_->conflicts;
  auto r = controller_->Reconcile("fed/r");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->requeue_after.has_value());  // a bound on the wait if no event came
  EXPECT_EQ(control_->conflicts, conflicts);
  EXPECT_FALSE(VrTrue("VolumeComplete"));
  Sync();
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("VolumeComplete"));
  EXPECT_EQ(control_->conflicts, conflicts);
}

TEST_F(RestoreControllerTest, FailedWritesAreRetriedWithoutDuplicates) {
  CreateRestore(TwoClusters());
  control_->fail_next_patch = true;  // the finalizer patch fails
  EXPECT_FALSE(Reconcile().ok());
  EXPECT_EQ(planes_.clients["a"]->creates, 0);  // nothing created before the finalizer
  ASSERT_TRUE(Reconcile().ok());
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_EQ(planes_.clients["a"]->creates, 1);
  EXPECT_EQ(planes_.clients["b"]->creates, 1);
}

TEST_F(RestoreControllerTest, UnknownClusterIsInvalidWithEvent) {
  Json spec = TwoClusters();
  spec["clusters"][1]["k8sClusterName"] = "zz";
  CreateRestore(spec);
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("Invalid"));
  EXPECT_EQ(planes_.clients["a"]->creates, 0);
  ASSERT_FALSE(events_.empty());
  EXPECT_NE(events_.back().find("Warning Invalid: spec.clusters[1].k8sClusterName \"zz\""),
            std::string::npos)
      << events_.back();
  EXPECT_NE(registry_.Expose().find("status=\"Invalid\"} 1"), std::string::npos);
}

TEST_F(RestoreControllerTest, DeletionRemovesMembersThenFinalizer) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  Vr()["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  Sync();
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_FALSE(planes_.clients["a"]->Has(kube::resources::Restore(), "ns-a", "fed-r"));
  EXPECT_FALSE(planes_.clients["b"]->Has(kube::resources::Restore(), "ns-b", "fed-r"));
  EXPECT_TRUE(control_->Has(kube::resources::VolumeRestore(), "fed", "r"));  // Cleaned next pass
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_FALSE(control_->Has(kube::resources::VolumeRestore(), "fed", "r"));
  EXPECT_NE(
      std::find(events_.begin(), events_.end(), "Normal Cleaned: all restore members are deleted"),
      events_.end());
  // Gone from the cache: nothing to do.
  ASSERT_TRUE(Reconcile().ok());
}

TEST_F(RestoreControllerTest, UnreachableDataPlaneRequeues) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  planes_.clients.erase("b");  // its handle goes away (kubeconfig reload)
  auto r = Reconcile();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->requeue_after.has_value());
  EXPECT_EQ(*r->requeue_after, std::chrono::nanoseconds(kUnknownClusterRecheck));
  EXPECT_FALSE(VrTrue("Invalid"));
}

TEST_F(RestoreControllerTest, KeysReferencingFindsRestoresOfABackup) {
  Json spec = TwoClusters();
  for (auto& c : spec["clusters"]) c.erase("backup");
  spec["volumeBackupName"] = "vb";
  CreateRestore(spec);
  Json vb = {{"metadata", {{"name", "vb"}, {"namespace", "fed"}}}};
  EXPECT_EQ(controller_->KeysReferencing(vb), (std::vector<std::string>{"fed/r"}));
  vb["metadata"]["name"] = "other";
  EXPECT_TRUE(controller_->KeysReferencing(vb).empty());
  // The VolumeBackup is not in the cache: Invalid, saying so.
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("Invalid"));
  EXPECT_NE(events_.back().find("VolumeBackup fed/vb not found"), std::string::npos);
}

class RestoreControllerNoSubresourceTest : public RestoreControllerTest {
 protected:
  RestoreControllerNoSubresourceTest() : RestoreControllerTest(false) {}
};

TEST_F(RestoreControllerNoSubresourceTest, WritesStatusThroughTheObjectOnUpstreamCrds) {
  CreateRestore(TwoClusters());
  ASSERT_TRUE(Reconcile().ok());
  EXPECT_TRUE(VrTrue("Running"));
}

}  // namespace
}  // namespace brfed::federation
