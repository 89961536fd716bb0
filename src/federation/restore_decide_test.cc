#include "federation/restore_decide.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <random>

namespace brfed::federation {
namespace {

using Kind = MemberAction::Kind;
using api::VolumeRestoreStatus;

// A control plane VolumeRestore plus fake data planes, driven one decision at a time. Apply()
// does what the controller's act step does; SetMember* do what TiDB Operator would do.
class World {
 public:
  explicit World(Json spec) {
    vr_ = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
           {"kind", "VolumeRestore"},
           {"metadata", {{"name", "r1"}, {"namespace", "fed"}, {"uid", "uid-1"}}},
           {"spec", std::move(spec)}};
  }

  static Json ThreeClusters(std::string warmup = "", std::string strategy = "") {
    Json spec = Json::parse(R"({"clusters": [
        {"k8sClusterName": "a", "tcName": "tc", "tcNamespace": "ns-a", "azName": "az-a",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-a"}}},
        {"k8sClusterName": "b", "tcName": "tc", "tcNamespace": "ns-b", "azName": "az-b",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-b"}}},
        {"k8sClusterName": "c", "tcName": "tc", "tcNamespace": "ns-c", "azName": "az-c",
         "backup": {"s3": {"provider": "aws", "bucket": "b", "prefix": "p-c"}}}],
      "template": {"br": {"sendCredToTikv": true}, "toolImage": "br:v7"}})");
    if (!warmup.empty()) {
      spec["template"]["warmup"] = warmup;
      spec["template"]["warmupImage"] = "warmup:1";
    }
    if (!strategy.empty()) spec["template"]["warmupStrategy"] = strategy;
    return spec;
  }

  RestoreDecision Decide() const {
    RestoreDecideInput in;
    in.volume_restore = &vr_;
    for (const auto& [cluster, obj] : members_) {
      auto m = api::ParseRestoreMember(obj, cluster);
      EXPECT_TRUE(m.ok());
      in.members.push_back(*m);
    }
    in.known_clusters = known_;
    for (const auto& c : known_) {
      if (!unobservable_.count(c)) in.observable_clusters.insert(c);
    }
    for (const auto& [cluster, obj] : unmarked_) in.unmarked_members[cluster] = &obj;
    in.volume_backup = vb_.has_value() ? &*vb_ : nullptr;
    in.unreachable = unreachable_;
    in.now = now_;
    return DecideRestore(in);
  }

  RestoreDecision Step() {
    RestoreDecision d = Decide();
    Apply(d);
    return d;
  }

  void Apply(const RestoreDecision& d) {
    if (d.new_status) vr_["status"] = api::VolumeRestoreStatusToJson(*d.new_status);
    if (d.finalizer == RestoreDecision::FinalizerChange::kAdd) {
      vr_["metadata"]["finalizers"].push_back("tidb.pingcap.com/restore-protection");
    } else if (d.finalizer == RestoreDecision::FinalizerChange::kRemove) {
      vr_["metadata"].erase("finalizers");
    }
    for (const auto& a : d.actions) {
      switch (a.kind) {
        case Kind::kCreate:
          if (members_.count(a.k8s_cluster_name)) break;  // AlreadyExists
          members_[a.k8s_cluster_name] = *a.body;
          members_[a.k8s_cluster_name]["metadata"]["resourceVersion"] = Rv();
          creates_[a.k8s_cluster_name]++;
          break;
        case Kind::kPatchPhase: {
          Json& m = members_.at(a.k8s_cluster_name);
          if (m["metadata"]["resourceVersion"] != a.resource_version) break;  // Conflict
          m = ApplyMergePatch(m, MemberPhasePatch(a));
          m["metadata"]["resourceVersion"] = Rv();
          phase_log_.push_back(a.k8s_cluster_name + ":" + a.federal_phase);
          break;
        }
        case Kind::kDelete:
          members_.erase(a.k8s_cluster_name);
          break;
        case Kind::kAdopt: {  // our label makes it visible to the member cache
          Json& m = unmarked_.at(a.k8s_cluster_name);
          if (m["metadata"]["resourceVersion"] != (*a.body)["metadata"]["resourceVersion"]) break;
          members_[a.k8s_cluster_name] = ApplyMergePatch(m, *a.body);
          members_[a.k8s_cluster_name]["metadata"]["resourceVersion"] = Rv();
          unmarked_.erase(a.k8s_cluster_name);
          break;
        }
      }
    }
  }

  void SetMember(const std::string& cluster, const std::string& type,
                 const std::string& reason = "", const std::string& message = "") {
    Json& m = members_.at(cluster);
    Json c = {{"type", type}, {"status", "True"}};
    if (!reason.empty()) c["reason"] = reason;
    if (!message.empty()) c["message"] = message;
    m["status"]["conditions"].push_back(c);
    m["status"]["phase"] = type;
    m["metadata"]["resourceVersion"] = Rv();
  }
  void SetAll(const std::string& type) {
    for (auto& [cluster, _] : members_) SetMember(cluster, type);
  }
  void SetCommitTs(const std::string& cluster, const std::string& ts) {
    members_.at(cluster)["status"]["commitTs"] = ts;
  }
  void Advance(int seconds) { now_ += std::chrono::seconds(seconds); }

  VolumeRestoreStatus Status() const {
    auto s = api::ParseVolumeRestoreStatus(vr_.value("status", Json()));
    EXPECT_TRUE(s.ok());
    return *s;
  }
  bool True(std::string_view type) const { return Status().IsTrue(type); }
  const api::RestoreCondition& Cond(std::string_view type) const {
    status_copy_ = Status();
    const auto* c = api::FindRestoreCondition(status_copy_.conditions, type);
    EXPECT_NE(c, nullptr) << type;
    static const api::RestoreCondition kNone;
    return c != nullptr ? *c : kNone;
  }
  std::string FederalPhase(const std::string& cluster) const {
    return members_.at(cluster)["spec"]["federalVolumeRestorePhase"];
  }

  Json& vr() { return vr_; }
  std::map<std::string, Json>& members() { return members_; }
  std::set<std::string>& known() { return known_; }
  std::set<std::string>& unobservable() { return unobservable_; }
  std::map<std::string, std::string>& unreachable() { return unreachable_; }
  std::optional<Json>& vb() { return vb_; }
  const std::vector<std::string>& phase_log() const { return phase_log_; }
  const std::map<std::string, int>& creates() const { return creates_; }

  // Turns every member into one the Go br-federation-manager built: no marks of ours, the
  // VolumeRestore's labels copied, created after it; out of the (label-selected) member cache.
  void MakeMembersGoBuilt() {
    vr_["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
    vr_["metadata"]["labels"] = {{"team", "db"}};
    for (auto& [cluster, m] : members_) {
      m["metadata"]["labels"] = {{"team", "db"}};
      m["metadata"].erase("annotations");
      m["metadata"]["creationTimestamp"] = "2026-01-01T00:00:01Z";
      unmarked_[cluster] = m;
    }
    members_.clear();
  }
  std::map<std::string, Json>& unmarked() { return unmarked_; }

  // Volume phase done with commitTs values; returns after the restore-data patch went out.
  void RunToTikvComplete(const std::map<std::string, std::string>& commit_ts) {
    Step();  // finalizer + Running + creates
    for (const auto& [cluster, ts] : commit_ts) SetCommitTs(cluster, ts);
    SetAll("VolumeComplete");
    Step();
    SetAll("TikvComplete");
  }

 private:
  std::string Rv() { return std::to_string(++rv_); }

  Json vr_;
  std::map<std::string, Json> members_;
  std::map<std::string, Json> unmarked_;  // read past the cache
  std::set<std::string> known_{"a", "b", "c"};
  std::set<std::string> unobservable_;
  std::map<std::string, std::string> unreachable_;
  std::optional<Json> vb_;
  Time now_ = Time(std::chrono::seconds(1700000000));
  int rv_ = 100;
  std::vector<std::string> phase_log_;
  std::map<std::string, int> creates_;
  mutable VolumeRestoreStatus status_copy_;
};

std::vector<std::string> ActionSummary(const RestoreDecision& d) {
  std::vector<std::string> out;
  for (const auto& a : d.actions) {
    const char* k = a.kind == Kind::kCreate   ? "create"
                    : a.kind == Kind::kDelete ? "delete"
                    : a.kind == Kind::kAdopt  ? "adopt"
                                              : "patch";
    out.push_back(std::string(k) + ":" + a.k8s_cluster_name +
                  (a.kind == Kind::kPatchPhase ? ":" + a.federal_phase : ""));
  }
  return out;
}

std::vector<std::string> StepNames(const VolumeRestoreStatus& s) {
  std::vector<std::string> out;
  for (const auto& st : s.steps) out.push_back(st.step_name + (st.time_completed ? "+" : "-"));
  return out;
}

using Strings = std::vector<std::string>;

TEST(RestoreDecideTest, FirstPassCreatesEveryMemberAndStartsRunning) {
  World w(World::ThreeClusters());
  RestoreDecision d = w.Decide();
  EXPECT_EQ(d.finalizer, RestoreDecision::FinalizerChange::kAdd);
  EXPECT_EQ(ActionSummary(d), (Strings{"create:a", "create:b", "create:c"}));
  ASSERT_TRUE(d.actions[1].body);
  const Json& body = *d.actions[1].body;
  EXPECT_EQ(body["metadata"]["name"], "fed-r1");
  EXPECT_EQ(body["metadata"]["namespace"], "ns-b");
  EXPECT_EQ(body["spec"]["s3"]["prefix"], "p-b");
  EXPECT_EQ(body["spec"]["volumeAZ"], "az-b");
  EXPECT_EQ(body["spec"]["federalVolumeRestorePhase"], "restore-volume");
  EXPECT_EQ(body["metadata"]["annotations"]["federation.pingcap.com/owner-uid"], "uid-1");
  ASSERT_TRUE(d.new_status);
  EXPECT_TRUE(d.new_status->IsTrue("Running"));
  EXPECT_EQ(d.new_status->phase, "Running");
  EXPECT_TRUE(d.new_status->time_started.has_value());
  EXPECT_EQ(StepNames(*d.new_status), (Strings{"RestoreVolume-"}));
  ASSERT_EQ(d.new_status->restores.size(), 3u);
  EXPECT_EQ(d.new_status->restores[2].restore_name, "fed-r1");
  EXPECT_EQ(d.new_status->restores[2].tc_namespace, "ns-c");
  EXPECT_EQ(d.events.front().reason, "Running");
  EXPECT_FALSE(d.requeue_after.has_value());
}

// Issue 18, item 3: a data plane the probe counts unreachable is named with its last error in
// a DataPlaneUnreachable condition (not a phase) until it answers again.
TEST(RestoreDecideTest, UnreachableDataPlaneIsAConditionUntilItAnswers) {
  World w(World::ThreeClusters());
  w.Step();
  w.unreachable()["b"] = "GET /version: timed out";
  w.unobservable().insert("b");
  RestoreDecision d = w.Step();
  ASSERT_TRUE(d.new_status);
  EXPECT_EQ(d.new_status->phase, "Running");
  const auto* c = api::FindRestoreCondition(d.new_status->conditions, "DataPlaneUnreachable");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "True");
  EXPECT_EQ(c->reason, "ProbeFailed");
  EXPECT_NE(c->message.find("cluster b: GET /version: timed out"), std::string::npos);
  ASSERT_TRUE(d.requeue_after.has_value());
  ASSERT_FALSE(d.events.empty());
  EXPECT_EQ(d.events.back().reason, "DataPlaneUnreachable");
  EXPECT_TRUE(w.Step().events.empty()) << "one Event per outage";
  w.unreachable().clear();
  w.unobservable().clear();
  d = w.Step();
  ASSERT_TRUE(d.new_status);
  c = api::FindRestoreCondition(d.new_status->conditions, "DataPlaneUnreachable");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(d.new_status->phase, "Running");
}

// Members whose VolumeRestore is gone are deleted, once: one already being deleted is left to
// its deletion.
TEST(RestoreDecideTest, OrphanedMembersAreDeletedUnlessAlreadyBeingDeleted) {
  auto member = [](const char* name, bool being_deleted) {
    Json m = {{"metadata", {{"name", name}, {"namespace", "tidb"}}}};
    if (being_deleted) m["metadata"]["deletionTimestamp"] = "2024-05-17T10:00:00Z";
    return std::make_shared<const Json>(std::move(m));
  };
  const std::vector<OrphanedMember> orphans = {
      {"a", member("fed-r", false)}, {"b", member("fed-r", true)}, {"c", member("fed-r", false)}};
  std::vector<MemberAction> actions = DecideOrphanedRestoreMembers(orphans);
  ASSERT_EQ(actions.size(), 2u);
  for (size_t i = 0; i < actions.size(); ++i) {
    EXPECT_EQ(actions[i].kind, MemberAction::Kind::kDelete);
    EXPECT_EQ(actions[i].k8s_cluster_name, i == 0 ? "a" : "c");
    EXPECT_EQ(actions[i].ns, "tidb");
    EXPECT_EQ(actions[i].name, "fed-r");
  }
  EXPECT_TRUE(DecideOrphanedRestoreMembers({}).empty());
}

TEST(RestoreDecideTest, SameObservationSameDecision) {
  World w(World::ThreeClusters("sync"));
  // At every stage of a run, deciding twice on the same observation gives the same result,
  // and deciding again after applying the status alone changes no status.
  auto check = [&w] {
    RestoreDecision d1 = w.Decide();
    RestoreDecision d2 = w.Decide();
    EXPECT_EQ(ActionSummary(d1), ActionSummary(d2));
    EXPECT_EQ(d1.new_status, d2.new_status);
    EXPECT_EQ(d1.events, d2.events);
    Json saved_members = Json(w.members());
    if (d1.new_status) w.vr()["status"] = api::VolumeRestoreStatusToJson(*d1.new_status);
    RestoreDecision d3 = w.Decide();  // cache lag: members unchanged
    EXPECT_FALSE(d3.new_status.has_value());
    EXPECT_EQ(ActionSummary(d3), ActionSummary(d1));  // re-sent; RV/AlreadyExists guard them
    w.Apply(d1);
  };
  check();
  w.SetAll("VolumeComplete");
  check();
  w.SetAll("WarmUpStarted");
  check();
  w.SetAll("WarmUpComplete");
  check();
  for (auto c : {"a", "b", "c"}) w.SetCommitTs(c, "500");
  w.SetAll("TikvComplete");
  check();
  w.SetMember("a", "DataComplete");
  check();
  w.SetAll("Complete");
  check();
  EXPECT_TRUE(w.True("Complete"));
  for (const auto& [cluster, n] : w.creates()) EXPECT_EQ(n, 1) << cluster;
}

struct ModeCase {
  std::string warmup;
  std::string strategy;
  Strings steps_after_volume;  // steps started once VolumeComplete
};

void PrintTo(const ModeCase& c, std::ostream* os) { *os << c.warmup << "/" << c.strategy; }

class RestoreModeTest : public ::testing::TestWithParam<ModeCase> {};

TEST_P(RestoreModeTest, HappyPathFollowsTheWarmUpMode) {
  const ModeCase& mc = GetParam();
  const bool sync = mc.warmup == "sync", async = mc.warmup == "async";
  World w(World::ThreeClusters(mc.warmup, mc.strategy));
  w.Step();
  for (auto [c, ts] : {std::pair{"a", "300"}, {"b", "200"}, {"c", "400"}}) w.SetCommitTs(c, ts);
  w.SetMember("a", "VolumeComplete");
  w.SetMember("b", "VolumeComplete");
  EXPECT_TRUE(w.Step().actions.empty());
  EXPECT_FALSE(w.True("VolumeComplete"));
  w.SetMember("c", "VolumeComplete");
  w.Advance(60);
  RestoreDecision d = w.Step();
  EXPECT_TRUE(w.True("VolumeComplete"));
  EXPECT_EQ(StepNames(w.Status()), mc.steps_after_volume);
  ASSERT_EQ(d.finished_steps.size(), 1u);
  EXPECT_EQ(d.finished_steps[0].step, "RestoreVolume");
  EXPECT_DOUBLE_EQ(d.finished_steps[0].seconds, 60);
  EXPECT_EQ(w.Status().steps[0].time_taken, "1m0s");

  if (sync || async) {
    w.SetMember("a", "WarmUpStarted");
    w.Step();
    EXPECT_FALSE(w.True("WarmUpStarted"));
    w.SetMember("b", "WarmUpStarted");
    w.SetMember("c", "WarmUpStarted");
    w.Step();
    EXPECT_TRUE(w.True("WarmUpStarted"));
  }
  if (sync) {
    w.SetAll("WarmUpComplete");
    w.Step();
    EXPECT_TRUE(w.True("WarmUpComplete"));
    EXPECT_NE(w.Status().FindStep("StartTiKV"), nullptr);
  }
  // Not every TiKV is up: no restore-data.
  w.SetMember("a", "TikvComplete");
  w.SetMember("b", "TikvComplete");
  EXPECT_TRUE(w.Step().actions.empty());
  w.SetMember("c", "TikvComplete");
  const Json rv_b = w.members()["b"]["metadata"]["resourceVersion"];
  d = w.Step();
  EXPECT_TRUE(w.True("TikvComplete"));
  EXPECT_EQ(ActionSummary(d), (Strings{"patch:b:restore-data"}));  // smallest commitTs
  EXPECT_EQ(d.actions[0].resource_version, rv_b);
  EXPECT_TRUE(w.Step().actions.empty());  // exactly once, waiting for DataComplete
  w.SetMember("b", "DataComplete");
  d = w.Step();
  EXPECT_TRUE(w.True("DataComplete"));
  EXPECT_EQ(w.Status().commit_ts, "200");
  EXPECT_EQ(ActionSummary(d), (Strings{"patch:a:restore-finish", "patch:b:restore-finish",
                                       "patch:c:restore-finish"}));
  EXPECT_EQ(w.phase_log(), (Strings{"b:restore-data", "a:restore-finish", "b:restore-finish",
                                    "c:restore-finish"}));
  w.SetAll("Complete");
  d = w.Step();
  if (async) {
    EXPECT_FALSE(w.True("Complete"));  // waits for the asynchronous warm-up
    EXPECT_EQ(d.outcome, "");
    w.SetAll("WarmUpComplete");
    d = w.Step();
    EXPECT_TRUE(w.True("WarmUpComplete"));
  }
  EXPECT_TRUE(w.True("Complete"));
  EXPECT_EQ(w.Status().phase, "Complete");
  EXPECT_EQ(d.outcome, "Complete");
  ASSERT_TRUE(d.total_seconds.has_value());
  EXPECT_DOUBLE_EQ(*d.total_seconds, 60);
  EXPECT_EQ(w.Status().time_taken, "1m0s");
  for (const auto& s : w.Status().steps) {
    EXPECT_TRUE(s.time_completed.has_value()) << s.step_name;
  }
  // Terminal: nothing more.
  RestoreDecision after = w.Decide();
  EXPECT_TRUE(after.actions.empty());
  EXPECT_FALSE(after.new_status.has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Modes, RestoreModeTest,
    ::testing::Values(ModeCase{"", "", {"RestoreVolume+", "StartTiKV-"}},
                      ModeCase{"sync", "", {"RestoreVolume+", "WarmUp-"}},
                      ModeCase{"sync", "fio", {"RestoreVolume+", "WarmUp-"}},
                      ModeCase{"sync", "hybrid", {"RestoreVolume+", "WarmUp-"}},
                      ModeCase{"sync", "fsr", {"RestoreVolume+", "WarmUp-"}},
                      ModeCase{"async", "", {"RestoreVolume+", "StartTiKV-", "WarmUp-"}},
                      ModeCase{"async", "fsr", {"RestoreVolume+", "StartTiKV-", "WarmUp-"}}),
    [](const ::testing::TestParamInfo<ModeCase>& info) {
      std::string n = (info.param.warmup.empty() ? "none" : info.param.warmup) + "_" +
                      (info.param.strategy.empty() ? "default" : info.param.strategy);
      return n;
    });

TEST(RestoreDecideTest, CheckWalOnlyCompletesAfterWarmUpWithoutRestoreData) {
  World w(World::ThreeClusters("sync", "check-wal-only"));
  w.Step();
  w.SetAll("VolumeComplete");
  w.Step();
  w.SetAll("WarmUpStarted");
  w.SetMember("a", "WarmUpComplete");
  w.SetMember("b", "WarmUpComplete");
  w.Step();
  EXPECT_FALSE(w.True("WarmUpComplete"));
  EXPECT_FALSE(w.True("Complete"));
  // Complete once every member shows WarmUpComplete, as upstream's federation does: the
  // members' own Complete is not awaited (it used to be).
  w.SetMember("c", "WarmUpComplete");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(w.True("WarmUpComplete"));
  EXPECT_TRUE(w.True("Complete"));
  EXPECT_FALSE(w.True("TikvComplete"));
  EXPECT_FALSE(w.True("DataComplete"));
  EXPECT_TRUE(w.phase_log().empty());  // neither restore-data nor restore-finish
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(StepNames(w.Status()), (Strings{"RestoreVolume+", "WarmUp+"}));
}

TEST(RestoreDecideTest, CheckWalOnlyWarmUpFailureFails) {
  World w(World::ThreeClusters("sync", "check-wal-only"));
  w.Step();
  w.SetAll("VolumeComplete");
  w.Step();
  w.SetAll("WarmUpStarted");
  w.SetMember("a", "Complete");
  w.SetMember("b", "Failed", "BackoffLimitExceeded", "warm-up job failed");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(w.True("Failed"));
  EXPECT_FALSE(w.True("Complete"));
  EXPECT_EQ(w.Cond("Failed").reason, "VolumeRestoreMemberFailed");
  EXPECT_EQ(
      w.Cond("Failed").message,
      "restore member fed-r1 of cluster b is failed: BackoffLimitExceeded: warm-up job failed");
  EXPECT_EQ(d.outcome, "Failed");
  EXPECT_EQ(d.events.back().type, "Warning");
}

TEST(RestoreDecideTest, RestoreVolumeFailureNamesEveryFailedMember) {
  World w(World::ThreeClusters());
  w.Step();
  w.SetMember("a", "VolumeComplete");
  w.SetMember("b", "Failed", "RestoreDataFromRemoteFailed", "br exited 1");
  w.SetMember("c", "Failed", "AlreadyFailed", "");
  w.Advance(5);
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(w.Cond("Failed").reason, "VolumeRestoreMemberFailed");
  EXPECT_EQ(w.Cond("Failed").message,
            "restore member fed-r1 of cluster b is failed: RestoreDataFromRemoteFailed: br exited "
            "1; restore member fed-r1 of cluster c is failed: AlreadyFailed");
  VolumeRestoreStatus s = w.Status();
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.time_taken, "5s");
  EXPECT_EQ(s.restores[1].reason, "RestoreDataFromRemoteFailed");
  EXPECT_EQ(s.restores[1].message, "br exited 1");
  EXPECT_EQ(s.restores[0].reason, "");
  EXPECT_FALSE(w.True("VolumeComplete"));
  EXPECT_TRUE(w.Decide().actions.empty());  // Failed is terminal: no retry (upstream R9)
}

TEST(RestoreDecideTest, InvalidMemberFailsWithMemberInvalid) {
  World w(World::ThreeClusters());
  w.Step();
  w.SetMember("c", "Invalid", "InvalidSpec", "tidbcluster not across k8s");
  w.Step();
  EXPECT_EQ(w.Cond("Failed").reason, "VolumeRestoreMemberInvalid");
  EXPECT_EQ(w.Cond("Failed").message,
            "restore member fed-r1 of cluster c is invalid: InvalidSpec: tidbcluster not across "
            "k8s");
}

TEST(RestoreDecideTest, RestoreDataFailureFails) {
  World w(World::ThreeClusters());
  w.RunToTikvComplete({{"a", "10"}, {"b", "20"}, {"c", "30"}});
  EXPECT_EQ(ActionSummary(w.Step()), (Strings{"patch:a:restore-data"}));
  w.SetMember("a", "Failed", "RestoreDataFromRemoteFailed", "data restore failed");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());  // no restore-finish
  EXPECT_EQ(w.Cond("Failed").reason, "VolumeRestoreMemberFailed");
  EXPECT_NE(w.Cond("Failed").message.find("cluster a is failed: RestoreDataFromRemoteFailed"),
            std::string::npos);
  EXPECT_FALSE(w.True("DataComplete"));
}

TEST(RestoreDecideTest, RestoreFinishFailureFails) {
  World w(World::ThreeClusters());
  w.RunToTikvComplete({{"a", "10"}, {"b", "20"}, {"c", "30"}});
  w.Step();
  w.SetMember("a", "DataComplete");
  w.Step();
  w.SetMember("a", "Complete");
  w.SetMember("b", "Failed", "RestoreFinishFailed", "");
  w.Step();
  EXPECT_TRUE(w.True("Failed"));
  EXPECT_FALSE(w.True("Complete"));
  EXPECT_NE(w.Cond("Failed").message.find("cluster b is failed"), std::string::npos);
}

struct CommitTsCase {
  std::string name;
  std::vector<std::string> clusters;  // spec order
  std::map<std::string, std::string> ts;
  std::string expect_patch;  // cluster patched to restore-data, or ""
  std::string expect_error;  // substring of the Failed message, or ""
};

void PrintTo(const CommitTsCase& c, std::ostream* os) { *os << c.name; }

class CommitTsTest : public ::testing::TestWithParam<CommitTsCase> {};

TEST_P(CommitTsTest, ChoosesTheSmallestCommitTs) {
  const CommitTsCase& tc = GetParam();
  Json spec = World::ThreeClusters();
  Json reordered = Json::array();
  for (const auto& name : tc.clusters) {
    for (const auto& c : spec["clusters"]) {
      if (c["k8sClusterName"] == name) reordered.push_back(c);
    }
  }
  spec["clusters"] = reordered;
  World w(spec);
  w.RunToTikvComplete(tc.ts);
  RestoreDecision d = w.Step();
  if (!tc.expect_patch.empty()) {
    EXPECT_EQ(ActionSummary(d), (Strings{"patch:" + tc.expect_patch + ":restore-data"}));
    EXPECT_NE(w.Status().FindStep("RestoreData"), nullptr);
    EXPECT_FALSE(w.True("Failed"));
  } else {
    EXPECT_TRUE(d.actions.empty());
    EXPECT_EQ(w.Cond("Failed").reason, "VolumeRestoreMemberResolvedTsInvalid");
    EXPECT_NE(w.Cond("Failed").message.find(tc.expect_error), std::string::npos)
        << w.Cond("Failed").message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CommitTsTest,
    ::testing::Values(
        CommitTsCase{"Smallest", {"a", "b", "c"}, {{"a", "30"}, {"b", "10"}, {"c", "20"}}, "b", ""},
        CommitTsCase{
            "NumericNotLexical", {"a", "b", "c"}, {{"a", "9"}, {"b", "10"}, {"c", "100"}}, "a", ""},
        CommitTsCase{"TieGoesToSmallestClusterName",
                     {"c", "b", "a"},
                     {{"a", "5"}, {"b", "5"}, {"c", "5"}},
                     "a",
                     ""},
        CommitTsCase{
            "TieIgnoresSpecOrder", {"c", "a", "b"}, {{"a", "7"}, {"b", "5"}, {"c", "5"}}, "b", ""},
        CommitTsCase{
            "LargeTso",
            {"a", "b", "c"},
            {{"a", "443863386513694721"}, {"b", "443863386513694720"}, {"c", "443863386513694722"}},
            "b",
            ""},
        CommitTsCase{"Empty",
                     {"a", "b", "c"},
                     {{"a", "1"}, {"c", "2"}},
                     "",
                     "commitTs of restore member fed-r1 of cluster b is empty"},
        CommitTsCase{"NotANumber",
                     {"a", "b", "c"},
                     {{"a", "1"}, {"b", "x1"}, {"c", "2"}},
                     "",
                     "commitTs \"x1\" of restore member fed-r1 of cluster b is not a 64-bit"},
        CommitTsCase{"Overflow",
                     {"a", "b", "c"},
                     {{"a", "1"}, {"b", "2"}, {"c", "9223372036854775808"}},
                     "",
                     "cluster c is not a 64-bit integer"},
        CommitTsCase{
            "Float", {"a", "b", "c"}, {{"a", "1e5"}, {"b", "2"}, {"c", "3"}}, "", "cluster a"}),
    [](const ::testing::TestParamInfo<CommitTsCase>& info) { return info.param.name; });

TEST(RestoreDecideTest, NoSecondRestoreDataOnceOneMemberIsInIt) {
  World w(World::ThreeClusters());
  w.RunToTikvComplete({{"a", "30"}, {"b", "10"}, {"c", "20"}});
  w.Step();
  // Even if commitTs values changed afterwards, the choice is not made again.
  w.SetCommitTs("c", "1");
  EXPECT_TRUE(w.Step().actions.empty());
  EXPECT_EQ(w.phase_log(), (Strings{"b:restore-data"}));
}

TEST(RestoreDecideTest, StalePatchIsRejectedByResourceVersion) {
  World w(World::ThreeClusters());
  w.RunToTikvComplete({{"a", "30"}, {"b", "10"}, {"c", "20"}});
  RestoreDecision d = w.Decide();
  w.SetCommitTs("b", "10");  // member changed after the decision was made
  w.SetMember("b", "RetryFailed");
  w.Apply(d);
  EXPECT_TRUE(w.phase_log().empty());  // Conflict: applied nothing
  w.Step();
  EXPECT_EQ(w.phase_log(), (Strings{"b:restore-data"}));
}

struct InvalidCase {
  std::string name;
  std::function<void(World&)> mutate;
  std::string message;  // substring of the Invalid message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class InvalidSpecTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSpecTest, EndsInvalidWithAUsefulMessage) {
  World w(World::ThreeClusters());
  GetParam().mutate(w);
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());
  EXPECT_TRUE(w.True("Invalid"));
  EXPECT_FALSE(w.True("Running"));
  EXPECT_EQ(w.Cond("Invalid").reason, "InvalidSpec");
  EXPECT_NE(w.Cond("Invalid").message.find(GetParam().message), std::string::npos)
      << w.Cond("Invalid").message;
  EXPECT_EQ(d.outcome, "Invalid");
  ASSERT_FALSE(d.events.empty());
  EXPECT_EQ(d.events.back().type, "Warning");
  // Invalid is terminal and stable.
  RestoreDecision again = w.Decide();
  EXPECT_FALSE(again.new_status.has_value());
  EXPECT_TRUE(again.events.empty());
}

Json& Spec(World& w) { return w.vr()["spec"]; }

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidSpecTest,
    ::testing::Values(
        InvalidCase{"NameTooLong",
                    [](World& w) { w.vr()["metadata"]["name"] = std::string(47, 'n'); },
                    "has 47 characters; at most 46 fit"},
        InvalidCase{"NoClusters", [](World& w) { Spec(w)["clusters"] = Json::array(); },
                    "spec.clusters is empty"},
        InvalidCase{"NoSpec", [](World& w) { w.vr().erase("spec"); }, "spec.clusters is empty"},
        InvalidCase{"ClustersNotAList", [](World& w) { Spec(w)["clusters"] = "a,b"; },
                    "spec.clusters must be a list"},
        InvalidCase{"DuplicateContext",
                    [](World& w) { Spec(w)["clusters"][2]["k8sClusterName"] = "a"; },
                    "spec.clusters[2].k8sClusterName \"a\" is duplicated"},
        InvalidCase{"UnknownContext", [](World& w) { w.known().erase("b"); },
                    "spec.clusters[1].k8sClusterName \"b\" is not a context of the federation "
                    "kubeconfig (known: a, c)"},
        InvalidCase{"MissingContext",
                    [](World& w) { Spec(w)["clusters"][0].erase("k8sClusterName"); },
                    "spec.clusters[0].k8sClusterName is required"},
        InvalidCase{"MissingTcName", [](World& w) { Spec(w)["clusters"][1].erase("tcName"); },
                    "spec.clusters[1].tcName is required"},
        InvalidCase{"MissingTcNamespace",
                    [](World& w) { Spec(w)["clusters"][1].erase("tcNamespace"); },
                    "spec.clusters[1].tcNamespace is required"},
        InvalidCase{"NoStorage", [](World& w) { Spec(w)["clusters"][2].erase("backup"); },
                    "spec.clusters[2] has no backup storage"},
        InvalidCase{"NotS3",
                    [](World& w) {
                      Spec(w)["clusters"][0]["backup"] = {{"gcs", {{"bucket", "x"}}}};
                    },
                    "spec.clusters[0].backup must set s3"},
        InvalidCase{"UnknownWarmupMode", [](World& w) { Spec(w)["template"]["warmup"] = "lazy"; },
                    "spec.template.warmup \"lazy\" is not one of sync, async"},
        InvalidCase{"UnknownStrategy",
                    [](World& w) { Spec(w)["template"]["warmupStrategy"] = "dd"; },
                    "spec.template.warmupStrategy \"dd\" is not one of"},
        InvalidCase{"WarmupWithoutImage", [](World& w) { Spec(w)["template"]["warmup"] = "sync"; },
                    "spec.template.warmupImage is required when warmup is \"sync\""},
        InvalidCase{"CheckWalOnlyAsync",
                    [](World& w) {
                      Spec(w)["template"]["warmup"] = "async";
                      Spec(w)["template"]["warmupImage"] = "i";
                      Spec(w)["template"]["warmupStrategy"] = "check-wal-only";
                    },
                    "check-wal-only requires warmup: sync"},
        InvalidCase{"TemplateNotAnObject", [](World& w) { Spec(w)["template"] = 3; },
                    "spec.template must be an object"},
        InvalidCase{"BackupMissing",
                    [](World& w) {
                      Spec(w)["volumeBackupName"] = "vb";
                      for (auto& c : Spec(w)["clusters"]) c.erase("backup");
                    },
                    "spec.volumeBackupName: VolumeBackup fed/vb not found"},
        InvalidCase{"BothBackupAndReference", [](World& w) { Spec(w)["volumeBackupName"] = "vb"; },
                    "spec.clusters[0].backup and spec.volumeBackupName are mutually exclusive"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

TEST(RestoreDecideTest, InvalidRestoreStartsOnceItsSpecIsFixed) {
  struct Fix {
    const char* name;
    std::function<void(World&)> reset;  // what breaks the spec
    std::function<void(World&)> fix;
  };
  const std::vector<Fix> fixes = {
      {"malformed clusters", [](World& w) { w.vr()["spec"]["clusters"] = "a,b"; },
       [](World& w) { w.vr()["spec"]["clusters"] = World::ThreeClusters()["clusters"]; }},
      {"unknown context", [](World& w) { w.known().erase("b"); },
       [](World& w) { w.known().insert("b"); }},
      {"bad warmup", [](World& w) { w.vr()["spec"]["template"]["warmup"] = "lazy"; },
       [](World& w) { w.vr()["spec"]["template"].erase("warmup"); }},
  };
  for (const auto& f : fixes) {
    World w(World::ThreeClusters());
    f.reset(w);
    w.Step();
    ASSERT_TRUE(w.True("Invalid")) << f.name;
    f.fix(w);
    bool acted = false;
    for (int i = 0; i < 3 && !w.True("Running"); ++i) acted = !w.Step().actions.empty() || acted;
    EXPECT_TRUE(acted) << f.name << ": members are created";
    EXPECT_TRUE(w.True("Running")) << f.name;
    EXPECT_FALSE(w.True("Invalid")) << f.name;
    EXPECT_EQ(w.Cond("Invalid").reason, "SpecFixed") << f.name;
  }
}

TEST(RestoreDecideTest, MultipleProblemsAreAllReported) {
  World w(World::ThreeClusters());
  Spec(w)["clusters"][0].erase("tcName");
  Spec(w)["template"]["warmup"] = "eager";
  w.Step();
  const std::string& msg = w.Cond("Invalid").message;
  EXPECT_NE(msg.find("spec.clusters[0].tcName is required"), std::string::npos);
  EXPECT_NE(msg.find("warmup \"eager\""), std::string::npos);
}

Json CompleteVolumeBackup() {
  return Json::parse(R"({
    "metadata": {"name": "vb", "namespace": "fed"},
    "spec": {"clusters": [{"k8sClusterName": "a"}, {"k8sClusterName": "b"},
                          {"k8sClusterName": "c"}],
             "template": {"s3": {"provider": "aws", "bucket": "bk", "prefix": "daily",
                                 "region": "us-east-1"}}},
    "status": {"phase": "Complete",
               "backups": [{"k8sClusterName": "a", "backupPath": "s3://bk/daily-a"},
                           {"k8sClusterName": "b", "backupPath": "s3://bk/daily-b"},
                           {"k8sClusterName": "c", "backupPath": "s3://bk/daily-c"}],
               "conditions": [{"type": "Complete", "status": "True"}]}})");
}

World FromBackup() {
  Json spec = World::ThreeClusters();
  for (auto& c : spec["clusters"]) c.erase("backup");
  spec["volumeBackupName"] = "vb";
  World w(spec);
  w.vb() = CompleteVolumeBackup();
  return w;
}

TEST(RestoreDecideTest, VolumeBackupReferenceProvidesEachClustersStorage) {
  World w = FromBackup();
  RestoreDecision d = w.Step();
  ASSERT_EQ(d.actions.size(), 3u);
  for (const auto& a : d.actions) {
    EXPECT_EQ((*a.body)["spec"]["s3"]["bucket"], "bk");
    EXPECT_EQ((*a.body)["spec"]["s3"]["prefix"], "daily-" + a.k8s_cluster_name);
    EXPECT_EQ((*a.body)["spec"]["s3"]["region"], "us-east-1");
  }
  EXPECT_TRUE(w.True("Running"));
}

TEST(RestoreDecideTest, VolumeBackupReferenceProblems) {
  {
    World w = FromBackup();
    (*w.vb())["status"]["conditions"][0]["type"] = "Running";
    (*w.vb())["status"]["phase"] = "Running";
    w.Step();
    EXPECT_EQ(w.Cond("Invalid").message,
              "spec.volumeBackupName: VolumeBackup fed/vb is not Complete (phase \"Running\")");
  }
  {
    World w = FromBackup();
    (*w.vb())["spec"]["clusters"][2]["k8sClusterName"] = "d";
    w.Step();
    EXPECT_EQ(w.Cond("Invalid").message,
              "spec.clusters do not match the clusters of VolumeBackup fed/vb; not in the backup: "
              "c; not in the restore: d");
  }
  {
    World w = FromBackup();
    (*w.vb())["spec"]["template"].erase("s3");
    w.Step();
    EXPECT_NE(w.Cond("Invalid").message.find("has no spec.template.s3"), std::string::npos);
  }
}

TEST(RestoreDecideTest, MalformedObjectIsInvalidOnce) {
  World w(World::ThreeClusters());
  Spec(w)["clusters"][1] = 17;
  RestoreDecision d = w.Step();
  EXPECT_EQ(w.Cond("Invalid").message, "spec.clusters[1] must be an object");
  EXPECT_EQ(d.outcome, "Invalid");
  RestoreDecision again = w.Decide();
  EXPECT_FALSE(again.new_status.has_value());
  EXPECT_TRUE(again.events.empty());
  // Deleting a malformed object is not blocked.
  w.vr()["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  EXPECT_EQ(w.Decide().finalizer, RestoreDecision::FinalizerChange::kRemove);
}

TEST(RestoreDecideTest, UnknownClusterAfterStartWaitsInsteadOfInvalid) {
  World w(World::ThreeClusters());
  w.Step();
  w.members().erase("c");  // e.g. the create never reached it
  w.known().erase("c");
  RestoreDecision d = w.Step();
  EXPECT_FALSE(w.True("Invalid"));
  EXPECT_TRUE(d.actions.empty());
  ASSERT_TRUE(d.requeue_after.has_value());
  EXPECT_EQ(*d.requeue_after, kUnknownClusterRecheck);
  w.known().insert("c");
  EXPECT_EQ(ActionSummary(w.Step()), (Strings{"create:c"}));
}

TEST(RestoreDecideTest, UnsyncedMemberCacheWaitsEvenBeforeStart) {
  World w(World::ThreeClusters());
  w.unobservable().insert("b");  // context known, member cache not synced yet
  RestoreDecision d = w.Step();
  EXPECT_FALSE(w.True("Invalid"));
  EXPECT_TRUE(w.True("Running"));
  EXPECT_EQ(ActionSummary(d), (Strings{"create:a", "create:c"}));
  EXPECT_TRUE(d.requeue_after.has_value());
  w.unobservable().clear();
  EXPECT_EQ(ActionSummary(w.Step()), (Strings{"create:b"}));
}

TEST(RestoreDecideTest, MemberVanishingAfterVolumeCompleteFails) {
  World w(World::ThreeClusters());
  w.Step();
  w.SetAll("VolumeComplete");
  w.Step();
  w.members().erase("b");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());  // not re-created
  EXPECT_EQ(w.Cond("Failed").message,
            "restore member fed-r1 of cluster b disappeared after VolumeComplete");
}

// Found by fuzz/restore_decide (issue 18): a running restore whose spec.clusters was emptied
// read "every member TikvComplete" as true and chose restore-data on a null member.
TEST(RestoreDecideTest, ClustersRemovedAfterStartIsInvalidNotACrash) {
  World w(World::ThreeClusters());
  w.Step();
  w.SetAll("VolumeComplete");
  w.Step();
  w.SetAll("TikvComplete");
  w.vr()["spec"].erase("clusters");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(d.outcome, "Invalid");
  EXPECT_NE(w.Cond("Invalid").message.find("spec.clusters is empty"), std::string::npos);
}

TEST(RestoreDecideTest, ForeignMemberMakesItInvalid) {
  World w(World::ThreeClusters());
  w.members()["b"] = Json::parse(R"({"metadata": {"name": "fed-r1", "namespace": "ns-b",
      "resourceVersion": "3", "annotations": {"federation.pingcap.com/owner-uid": "other",
                                              "federation.pingcap.com/owner": "fed/r1"}},
      "spec": {}})");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(w.Cond("Invalid").message,
            "Restore ns-b/fed-r1 in cluster b already exists and belongs to another "
            "VolumeRestore (fed/r1 uid other)");
}

// Hand-over from the Go manager: its members (found past the cache) are adopted first and
// alone, then the restore goes on from the status Go wrote, without a second create.
TEST(RestoreDecideTest, GoBuiltMembersAreAdoptedThenDrivenToTheEnd) {
  World w(World::ThreeClusters());
  w.Step();  // what Go did: Running, members created
  w.MakeMembersGoBuilt();
  w.unmarked().at("b")["status"] = {
      {"conditions", {{{"type", "VolumeComplete"}, {"status", "True"}}}}};
  RestoreDecision d = w.Step();
  EXPECT_EQ(ActionSummary(d), (Strings{"adopt:a", "adopt:b", "adopt:c"}));
  EXPECT_FALSE(d.new_status.has_value()) << "adoption is decided alone";
  ASSERT_TRUE(d.actions[0].body);
  const Json& patch = *d.actions[0].body;
  EXPECT_EQ(patch["metadata"]["labels"]["federation.pingcap.com/managed-by"],
            "br-federation-manager");
  EXPECT_EQ(patch["metadata"]["labels"]["federation.pingcap.com/volume-restore"], "r1");
  EXPECT_EQ(patch["metadata"]["annotations"]["federation.pingcap.com/owner-uid"], "uid-1");
  EXPECT_FALSE(patch["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(d.events.front().reason, "Adopted");
  EXPECT_TRUE(w.unmarked().empty());
  EXPECT_EQ(w.members()["a"]["metadata"]["labels"]["team"], "db");
  w.SetAll("VolumeComplete");
  w.Step();
  for (auto c : {"a", "b", "c"}) w.SetCommitTs(c, "500");
  w.SetAll("TikvComplete");
  w.Step();
  w.SetMember("a", "DataComplete");
  w.Step();
  w.SetAll("Complete");
  w.Step();
  EXPECT_TRUE(w.True("Complete"));
  for (const auto& [cluster, n] : w.creates()) EXPECT_EQ(n, 1) << cluster << ": one create";
}

// An unmarked fed-<name> that Go did not build for this object (labels not copied, older than
// the VolumeRestore, or without a federal phase) is not adopted.
TEST(RestoreDecideTest, UnmarkedMembersGoDidNotBuildAreNotAdopted) {
  using Mutation = std::function<void(Json&)>;
  const std::vector<std::pair<const char*, Mutation>> cases = {
      {"labels not copied", [](Json& m) { m["metadata"]["labels"].erase("team"); }},
      {"older than the restore",
       [](Json& m) { m["metadata"]["creationTimestamp"] = "2025-12-31T23:59:59Z"; }},
      {"no federal phase", [](Json& m) { m["spec"].erase("federalVolumeRestorePhase"); }},
      {"another name", [](Json& m) { m["metadata"]["name"] = "fed-other"; }},
  };
  for (const auto& [what, mutate] : cases) {
    World w(World::ThreeClusters());
    w.Step();
    w.MakeMembersGoBuilt();
    mutate(w.unmarked().at("a"));
    RestoreDecision d = w.Decide();
    EXPECT_EQ(ActionSummary(d), (Strings{"adopt:b", "adopt:c"})) << what;
  }
}

TEST(RestoreDecideTest, DeletionDeletesMembersThenCleans) {
  World w(World::ThreeClusters());
  w.Step();
  w.SetAll("VolumeComplete");
  w.Step();
  w.vr()["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  w.members()["c"]["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  RestoreDecision d = w.Decide();
  EXPECT_EQ(ActionSummary(d), (Strings{"delete:a", "delete:b"}));  // c is already going
  EXPECT_EQ(d.finalizer, RestoreDecision::FinalizerChange::kNone);
  EXPECT_FALSE(d.new_status.has_value());
  w.Apply(d);
  d = w.Step();  // c still present
  EXPECT_TRUE(d.actions.empty());
  EXPECT_FALSE(w.True("Cleaned"));
  w.members().erase("c");
  d = w.Step();
  EXPECT_TRUE(w.True("Cleaned"));
  EXPECT_EQ(d.finalizer, RestoreDecision::FinalizerChange::kRemove);
  EXPECT_EQ(d.outcome, "Cleaned");
}

TEST(RestoreDecideTest, DeletionWaitsForUnreachableClusters) {
  World w(World::ThreeClusters());
  w.Step();
  w.vr()["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  w.members().erase("b");
  w.known().erase("b");  // no handle: cannot tell whether its member is gone
  RestoreDecision d = w.Step();
  EXPECT_EQ(ActionSummary(d), (Strings{"delete:a", "delete:c"}));
  d = w.Step();
  EXPECT_FALSE(w.True("Cleaned"));
  EXPECT_EQ(d.finalizer, RestoreDecision::FinalizerChange::kNone);
  ASSERT_TRUE(d.requeue_after.has_value());
  w.known().insert("b");
  EXPECT_EQ(w.Step().finalizer, RestoreDecision::FinalizerChange::kRemove);
}

TEST(RestoreDecideTest, DeletionLeavesForeignMembersAlone) {
  World w(World::ThreeClusters());
  w.vr()["metadata"]["finalizers"] = {"tidb.pingcap.com/restore-protection"};
  w.vr()["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  w.members()["a"] = Json::parse(R"({"metadata": {"name": "fed-r1", "namespace": "ns-a",
      "annotations": {"federation.pingcap.com/owner": "fed/old"}}})");
  RestoreDecision d = w.Step();
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(d.finalizer, RestoreDecision::FinalizerChange::kRemove);
}

TEST(RestoreDecideTest, MemberPhasePatchCarriesResourceVersion) {
  MemberAction a{Kind::kPatchPhase, "a", "ns", "fed-r", nullptr, "restore-finish", "42"};
  EXPECT_EQ(MemberPhasePatch(a), Json::parse(R"({"metadata": {"resourceVersion": "42"},
      "spec": {"federalVolumeRestorePhase": "restore-finish"}})"));
}

TEST(RestoreDecideTest, MirrorsMembersIntoStatus) {
  World w(World::ThreeClusters());
  w.Step();
  w.SetCommitTs("a", "77");
  w.SetMember("a", "VolumeComplete");
  w.Step();
  VolumeRestoreStatus s = w.Status();
  ASSERT_EQ(s.restores.size(), 3u);
  EXPECT_EQ(s.restores[0].k8s_cluster_name, "a");
  EXPECT_EQ(s.restores[0].phase, "VolumeComplete");
  EXPECT_EQ(s.restores[0].commit_ts, "77");
  EXPECT_EQ(s.restores[0].tc_name, "tc");
  EXPECT_EQ(s.restores[1].phase, "");
}

namespace crash {

bool HasCondition(const Json& member, std::string_view type) {
  const Json* conds = JsonAt(member, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return false;
  for (const auto& c : *conds) {
    if (c.value("type", "") == type) return true;
  }
  return false;
}

// A fake TiDB Operator for one member: advances its conditions one step per tick, following the
// data-plane contract (c.3) for the member's phase and warm-up mode.
void OperatorTick(World& w, const std::string& cluster, const std::string& warmup,
                  bool check_wal_only) {
  Json& m = w.members().at(cluster);
  auto has = [&m](const char* type) { return HasCondition(m, type); };
  const std::string phase = m["spec"]["federalVolumeRestorePhase"];
  if (!has("VolumeComplete")) {
    w.SetCommitTs(cluster, cluster == "a" ? "300" : cluster == "b" ? "100" : "200");
    w.SetMember(cluster, "VolumeComplete");
  } else if (!warmup.empty() && !has("WarmUpStarted")) {
    w.SetMember(cluster, "WarmUpStarted");
  } else if (warmup == "sync" && !has("WarmUpComplete")) {
    w.SetMember(cluster, "WarmUpComplete");
  } else if (check_wal_only) {
    if (!has("Complete")) w.SetMember(cluster, "Complete");
  } else if (!has("TikvComplete")) {
    w.SetMember(cluster, "TikvComplete");
  } else if (phase == "restore-data" && !has("DataComplete")) {
    w.SetMember(cluster, "DataComplete");
  } else if (phase == "restore-finish" && !has("Complete")) {
    w.SetMember(cluster, "Complete");
  } else if (warmup == "async" && has("Complete") && !has("WarmUpComplete")) {
    w.SetMember(cluster, "WarmUpComplete");
  }
}

bool AllHave(World& w, const char* type) {
  for (auto& [cluster, m] : w.members()) {
    if (!HasCondition(m, type)) return false;
  }
  return w.members().size() == 3;
}

struct CrashCase {
  std::string warmup;
  std::string strategy;
};

class CrashTest : public ::testing::TestWithParam<CrashCase> {};

// Interleaves operator ticks with decision passes whose writes are cut short at a random
// point (a manager crash: only a prefix of [member actions..., status] lands), and audits the
// safety invariants: members created once each, restore-data exactly once on the smallest
// commitTs and only after every member is TikvComplete, restore-finish only after DataComplete,
// and the same final outcome as without crashes.
TEST_P(CrashTest, RandomCrashesKeepTheInvariants) {
  const bool check_wal_only = GetParam().strategy == "check-wal-only";
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    World w(World::ThreeClusters(GetParam().warmup, GetParam().strategy));
    int data_patches = 0;
    for (int i = 0; i < 400 && !w.True("Complete") && !w.True("Failed"); ++i) {
      if (!w.members().empty() && rng() % 2 == 0) {
        auto it = w.members().begin();
        std::advance(it, rng() % w.members().size());
        OperatorTick(w, it->first, GetParam().warmup, check_wal_only);
        continue;
      }
      RestoreDecision d = w.Decide();
      const bool all_tikv = AllHave(w, "TikvComplete");
      const bool any_data = [&w] {
        for (auto& [c, m] : w.members()) {
          if (HasCondition(m, "DataComplete")) return true;
        }
        return false;
      }();
      for (const auto& a : d.actions) {
        if (a.federal_phase == "restore-data") {
          ASSERT_TRUE(all_tikv) << "seed " << seed;
          ASSERT_EQ(a.k8s_cluster_name, "b") << "seed " << seed;  // smallest commitTs
        }
        if (a.federal_phase == "restore-finish") {
          ASSERT_TRUE(any_data) << "seed " << seed;
        }
      }
      // Crash: keep a random prefix of the writes (finalizer and events are not audited).
      const size_t writes = d.actions.size() + (d.new_status ? 1 : 0);
      const size_t keep = rng() % 3 == 0 ? rng() % (writes + 1) : writes;
      RestoreDecision partial;
      partial.finalizer = d.finalizer;
      for (size_t k = 0; k < keep && k < d.actions.size(); ++k) {
        partial.actions.push_back(d.actions[k]);
      }
      if (keep == writes && d.new_status) partial.new_status = d.new_status;
      const size_t before = w.phase_log().size();
      w.Apply(partial);
      for (size_t k = before; k < w.phase_log().size(); ++k) {
        if (w.phase_log()[k].find("restore-data") != std::string::npos) ++data_patches;
      }
    }
    ASSERT_TRUE(w.True("Complete")) << "seed " << seed << " phase " << w.Status().phase;
    EXPECT_EQ(data_patches, check_wal_only ? 0 : 1) << "seed " << seed;
    for (const auto& [cluster, n] : w.creates()) EXPECT_EQ(n, 1) << cluster << " seed " << seed;
    if (!check_wal_only) {
      EXPECT_EQ(w.Status().commit_ts, "100") << "seed " << seed;
    }
  }
}

void PrintTo(const CrashCase& c, std::ostream* os) { *os << c.warmup << "/" << c.strategy; }

INSTANTIATE_TEST_SUITE_P(Modes, CrashTest,
                         ::testing::Values(CrashCase{"", ""}, CrashCase{"sync", "fsr"},
                                           CrashCase{"async", "hybrid"},
                                           CrashCase{"sync", "check-wal-only"}),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                           std::string s = info.param.warmup.empty() ? "none" : info.param.warmup;
                           if (info.param.strategy == "check-wal-only") s += "_checkwal";
                           return s;
                         });

}  // namespace crash
}  // namespace
}  // namespace brfed::federation
