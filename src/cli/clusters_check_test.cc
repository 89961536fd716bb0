#include "cli/clusters_check.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

namespace brfed::cli {
namespace {

// A data plane answering discovery, reviews and TidbCluster reads from canned values.
class FakeDataPlane : public kube::Client {
 public:
  Status discovery_error;  // returned by GET /apis/pingcap.com/v1alpha1 when not ok
  std::vector<std::string> served = {"backups", "restores", "tidbclusters"};
  std::optional<Status> review_error;  // e.g. 404 from servers without authorization APIs
  std::set<std::string> denied_verbs;
  std::vector<std::string> tidbclusters = {"tidb/basic"};
  std::set<std::string> reviewed;  // "<verb>@<namespace>" of every access review

  const std::string& cluster_name() const override { return name_; }
  Result<Json> Request(std::string_view method, std::string_view path, const Json* body) override {
    if (method == "GET" && path == "/apis/pingcap.com/v1alpha1") {
      if (!discovery_error.ok()) return discovery_error;
      Json resources = Json::array();
      for (const std::string& r : served) resources.push_back({{"name", r}});
      return Json{{"resources", resources}};
    }
    if (method == "POST" && body) {
      if (review_error) return *review_error;
      const std::string verb = JsonStringAt(*body, {"spec", "resourceAttributes", "verb"});
      reviewed.insert(verb + "@" +
                      JsonStringAt(*body, {"spec", "resourceAttributes", "namespace"}));
      return Json{{"status", {{"allowed", denied_verbs.count(verb) == 0}}}};
    }
    return Status(Code::kNotFound, "not found");
  }
  Result<Json> Get(const kube::Resource&, std::string_view ns, std::string_view name) override {
    const std::string key = std::string(ns) + "/" + std::string(name);
    if (std::find(tidbclusters.begin(), tidbclusters.end(), key) != tidbclusters.end()) {
      return Json::object();
    }
    return Status(Code::kNotFound, "tidbclusters not found");
  }
  Result<Json> List(const kube::Resource&, std::string_view, const kube::ListOptions&) override {
    Json items = Json::array();
    for (const std::string& tc : tidbclusters) {
      const size_t slash = tc.find('/');
      items.push_back(
          {{"metadata", {{"namespace", tc.substr(0, slash)}, {"name", tc.substr(slash + 1)}}}});
    }
    return Json{{"items", items}};
  }
  Result<Json> Create(const kube::Resource&, std::string_view, const Json&) override {
    return Unused();
  }
  Result<Json> Update(const kube::Resource&, const Json&) override { return Unused(); }
  Result<Json> UpdateStatus(const kube::Resource&, const Json&) override { return Unused(); }
  Result<Json> Patch(const kube::Resource&, std::string_view, std::string_view, kube::PatchType,
                     const Json&, std::string_view) override {
    return Unused();
  }
  Status Delete(const kube::Resource&, std::string_view, std::string_view,
                const kube::DeleteOptions&) override {
    return Unused();
  }
  Result<std::unique_ptr<kube::WatchStream>> Watch(const kube::Resource&, std::string_view,
                                                   const kube::WatchOptions&) override {
    return Unused();
  }

 private:
  static Status Unused() { return InternalError("not used by clusters check"); }
  std::string name_ = "dp-1";
};

TEST(CheckCluster, HealthyDataPlanePassesEveryCheck) {
  FakeDataPlane dp;
  ClusterCheck c = CheckCluster(dp, "http://x", {{"dp-1", "tidb", "basic"}});
  EXPECT_TRUE(c.ok());
  EXPECT_EQ(c.access.state, CheckState::kOk);
  EXPECT_EQ(c.tidbclusters.summary, "1 found");
}

TEST(CheckCluster, UnreachableStopsEarlyWithTheFix) {
  FakeDataPlane dp;
  dp.discovery_error = Status(Code::kUnavailable, "connection refused");
  ClusterCheck c = CheckCluster(dp, "http://127.0.0.1:9", {});
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.reachable.state, CheckState::kFailed);
  EXPECT_NE(c.reachable.fix.find("http://127.0.0.1:9"), std::string::npos);
  EXPECT_EQ(c.crds.state, CheckState::kSkipped);
}

// One broken piece of a data plane: what the check of that piece says.
TEST(CheckCluster, EachBrokenPieceShowsInItsOwnCheck) {
  using Fault = std::function<void(FakeDataPlane&)>;
  const Fault wrong_token = [](FakeDataPlane& dp) {
    dp.discovery_error = Status(Code::kUnauthorized, "Unauthorized");
  };
  struct Row {
    const char* what;
    Fault fault;
    CheckItem ClusterCheck::*item;
    CheckState state;
    std::string summary;       // "" = not asserted
    std::string fix_mentions;  // "" = not asserted
    bool ok;                   // ClusterCheck::ok()
  };
  const Row rows[] = {
      {"a wrong token still reaches the server", wrong_token, &ClusterCheck::reachable,
       CheckState::kOk, "", "", false},
      {"a wrong token", wrong_token, &ClusterCheck::authenticated, CheckState::kFailed, "", "token",
       false},
      {"a missing CRD is named", [](FakeDataPlane& dp) { dp.served = {"backups"}; },
       &ClusterCheck::crds, CheckState::kFailed, "missing restores.pingcap.com", "", false},
      {"no pingcap.com API at all",
       [](FakeDataPlane& dp) { dp.discovery_error = Status(Code::kNotFound, "404"); },
       &ClusterCheck::crds, CheckState::kFailed,
       "missing backups.pingcap.com, restores.pingcap.com", "", false},
      {"a denied verb", [](FakeDataPlane& dp) { dp.denied_verbs = {"delete"}; },
       &ClusterCheck::access, CheckState::kFailed, "denied: delete backups, delete restores", "",
       false},
      {"a server without access reviews",
       [](FakeDataPlane& dp) { dp.review_error = Status(Code::kNotFound, "404"); },
       &ClusterCheck::access, CheckState::kNotChecked, "", "", true},
  };
  for (const Row& row : rows) {
    FakeDataPlane dp;
    row.fault(dp);
    const ClusterCheck c = CheckCluster(dp, "http://x", {});
    const CheckItem& item = c.*row.item;
    EXPECT_EQ(item.state, row.state) << row.what;
    if (!row.summary.empty()) {
      EXPECT_EQ(item.summary, row.summary) << row.what;
    }
    if (!row.fix_mentions.empty()) {
      EXPECT_NE(item.fix.find(row.fix_mentions), std::string::npos) << row.what << ": " << item.fix;
    }
    EXPECT_EQ(c.ok(), row.ok) << row.what;
  }
}

// Reads are reviewed cluster-wide (the manager's caches watch every namespace); writes where
// the members go: the --cluster targets' namespaces, else those holding a TidbCluster.
TEST(CheckCluster, WritesAreReviewedWhereTheMembersGo) {
  FakeDataPlane dp;
  dp.tidbclusters = {"tidb/basic", "prod/main"};
  EXPECT_TRUE(CheckCluster(dp, "http://x", {}).ok());
  EXPECT_EQ(dp.reviewed,
            (std::set<std::string>{"get@", "list@", "watch@", "create@prod", "create@tidb",
                                   "patch@prod", "patch@tidb", "delete@prod", "delete@tidb"}));
  dp.reviewed.clear();
  EXPECT_TRUE(CheckCluster(dp, "http://x", {{"dp-1", "tidb", "basic"}}).ok());
  EXPECT_EQ(dp.reviewed, (std::set<std::string>{"get@", "list@", "watch@", "create@tidb",
                                                "patch@tidb", "delete@tidb"}));
}

TEST(CheckCluster, TidbClustersNamedOrAny) {
  FakeDataPlane dp;
  EXPECT_EQ(CheckCluster(dp, "http://x", {{"dp-1", "tidb", "other"}}).tidbclusters.summary,
            "missing tidb/other");
  dp.tidbclusters.clear();
  EXPECT_EQ(CheckCluster(dp, "http://x", {}).tidbclusters.state, CheckState::kFailed);
}

TEST(RenderClusterChecks, TableAndFixes) {
  FakeDataPlane dp;
  dp.discovery_error = Status(Code::kUnauthorized, "Unauthorized");
  const std::string out = RenderClusterChecks(
      {CheckCluster(dp, "http://x", {}), UnconfiguredCluster("dp-9", "bad CA")}, Style(false));
  EXPECT_EQ(out.rfind("CLUSTER   REACHABLE   AUTHENTICATED", 0), 0u) << out;
  EXPECT_NE(out.find("To fix:\n  dp-1: the server rejected"), std::string::npos) << out;
  EXPECT_NE(out.find("  dp-9: fix context \"dp-9\""), std::string::npos) << out;
}

}  // namespace
}  // namespace brfed::cli
