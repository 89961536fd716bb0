#include "cli/clusters_join.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/files.h"

namespace brfed::cli {
namespace {

TEST(ClustersJoin, ValidatesTheName) {
  struct Case {
    std::string name;
    bool ok;
  };
  for (const Case& c : std::vector<Case>{{"dp-1", true},
                                         {"eks-us-west-2", true},
                                         {"", false},
                                         {"DP1", false},
                                         {"dp_1", false},
                                         {"-dp", false},
                                         {std::string(64, 'a'), false}}) {
    Status s = ValidateJoinName(c.name);
    EXPECT_EQ(s.ok(), c.ok) << c.name;
    if (!c.ok) {
      EXPECT_EQ(s.code(), Code::kInvalidArgument);
      EXPECT_NE(s.message().find("cluster name"), std::string::npos) << s.message();
    }
  }
}

TEST(ClustersJoin, ParsesTheTokenDuration) {
  struct Case {
    std::string text;
    long seconds;  // -1 = error
  };
  for (const Case& c : std::vector<Case>{{"8760h", 8760L * 3600},
                                         {"10m", 600},
                                         {"1h30m", 5400},
                                         {"9m59s", -1},
                                         {"0s", -1},
                                         {"-1h", -1},
                                         {"1 day", -1},
                                         {"", -1}}) {
    Result<std::chrono::seconds> d = ParseTokenDuration(c.text);
    if (c.seconds < 0) {
      ASSERT_FALSE(d.ok()) << c.text;
      EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
      EXPECT_NE(d.status().message().find("--token-duration"), std::string::npos);
    } else {
      ASSERT_TRUE(d.ok()) << c.text << d.status().ToString();
      EXPECT_EQ(d->count(), c.seconds) << c.text;
    }
  }
  EXPECT_EQ(TokenRequestBody(std::chrono::seconds(600))["spec"]["expirationSeconds"], 600);
}

// The documents of deploy/data-plane/rbac.yaml.
Result<std::vector<Json>> ShippedRbac() {
  BRFED_ASSIGN_OR_RETURN(std::string text,
                         ReadFile(std::string(BRFED_SOURCE_DIR) + "/deploy/data-plane/rbac.yaml"));
  return ParseYamlDocuments(text);
}

// The one source of truth: the rules join grants are deploy/data-plane/rbac.yaml's.
TEST(ClustersJoin, RulesAreThoseOfTheShippedRbac) {
  Result<std::vector<Json>> docs = ShippedRbac();
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  std::map<std::string, Json> roles;
  for (const Json& d : *docs) {
    if (JsonStringAt(d, {"kind"}) == "ClusterRole") {
      roles[JsonStringAt(d, {"metadata", "name"})] = d["rules"];
    }
  }
  ASSERT_EQ(roles.size(), 2u);
  EXPECT_EQ(roles["br-federation-member-reader"], MemberReaderRules());
  EXPECT_EQ(roles["br-federation-member-writer"], MemberWriterRules());
}

// --token-secret's Secret is the kind of token Secret deploy/data-plane/rbac.yaml ships, for the
// ServiceAccount join makes, and labelled so that leave finds it.
TEST(ClustersJoin, TokenSecretIsTheShippedKindForTheJoinedAccount) {
  Result<std::vector<Json>> docs = ShippedRbac();
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  Json shipped;
  for (const Json& d : *docs) {
    if (JsonStringAt(d, {"kind"}) == "Secret") shipped = d;
  }
  ASSERT_FALSE(shipped.is_null());
  const Json secret = TokenSecret("dp1");
  EXPECT_EQ(secret["type"], shipped["type"]);
  EXPECT_EQ(secret["metadata"]["annotations"],
            Json({{"kubernetes.io/service-account.name", ServiceAccountName("dp1")}}));
  EXPECT_EQ(shipped["metadata"]["annotations"].size(), 1u);
  EXPECT_TRUE(shipped["metadata"]["annotations"].contains("kubernetes.io/service-account.name"));
  EXPECT_EQ(JsonStringAt(secret, {"metadata", "name"}), TokenSecretName("dp1"));
  EXPECT_EQ(TokenSecretName("dp1"), "brfed-dp1-token");
  EXPECT_EQ(JsonStringAt(secret, {"metadata", "namespace"}), kJoinNamespace);
  EXPECT_EQ(JsonStringAt(secret, {"metadata", "labels", kJoinedAsLabel}), "dp1");
}

std::map<std::string, const JoinObject*> ByKindNamespaceName(
    const std::vector<JoinObject>& objects) {
  std::map<std::string, const JoinObject*> out;
  for (const JoinObject& o : objects) {
    out[JsonStringAt(o.object, {"kind"}) + "/" + o.ns + "/" +
        JsonStringAt(o.object, {"metadata", "name"})] = &o;
  }
  return out;
}

TEST(ClustersJoin, ObjectsPerNamespaceOrClusterWide) {
  struct Case {
    std::vector<std::string> tc_namespaces;
    std::vector<std::string> keys;
  };
  const std::vector<std::string> common = {
      "ServiceAccount/br-federation/brfed-dp1", "ClusterRole//brfed-dp1-reader",
      "ClusterRole//brfed-dp1-writer", "ClusterRoleBinding//brfed-dp1-reader"};
  for (const Case& c : std::vector<Case>{
           {{}, {"ClusterRoleBinding//brfed-dp1-writer"}},
           {{"tidb"}, {"RoleBinding/tidb/brfed-dp1-writer"}},
           {{"b", "a", "b"}, {"RoleBinding/a/brfed-dp1-writer", "RoleBinding/b/brfed-dp1-writer"}},
       }) {
    const std::vector<JoinObject> objects = JoinObjects("dp1", c.tc_namespaces);
    auto by_key = ByKindNamespaceName(objects);
    std::vector<std::string> want = common;
    want.insert(want.end(), c.keys.begin(), c.keys.end());
    EXPECT_EQ(by_key.size(), want.size());
    EXPECT_EQ(objects.size(), want.size());
    for (const std::string& k : want) ASSERT_TRUE(by_key.contains(k)) << k;
    EXPECT_EQ(JsonStringAt(objects.front().object, {"kind"}), "ServiceAccount");
    for (const JoinObject& o : objects) {
      EXPECT_EQ(JsonStringAt(o.object, {"metadata", "labels", kJoinedAsLabel}), "dp1");
      if (const Json* subjects = JsonAt(o.object, {"subjects"})) {
        EXPECT_EQ(*subjects, Json::parse(R"([{"kind":"ServiceAccount","name":"brfed-dp1",
                                             "namespace":"br-federation"}])"));
      }
    }
    const Json& writer_ref = c.tc_namespaces.empty()
                                 ? by_key["ClusterRoleBinding//brfed-dp1-writer"]->object
                                 : by_key[c.keys[0]]->object;
    EXPECT_EQ(JsonStringAt(writer_ref, {"roleRef", "name"}), "brfed-dp1-writer");
    EXPECT_EQ(by_key["ClusterRole//brfed-dp1-reader"]->object["rules"], MemberReaderRules());
  }
}

TEST(ClustersJoin, SetsAndRemovesTheFederationContext) {
  const Json other = Json::parse(R"({
    "apiVersion": "v1", "kind": "Config", "current-context": "dp1",
    "clusters": [{"name": "dp2", "cluster": {"server": "https://b"}},
                 {"name": "dp1", "cluster": {"server": "https://old"}}],
    "users": [{"name": "dp2", "user": {"token": "t2"}}, {"name": "dp1", "user": {"token": "old"}}],
    "contexts": [{"name": "dp2", "context": {"cluster": "dp2", "user": "dp2"}}]})");
  const FederationEntry entry{"https://a", "Q0E=", false, "", "t1"};
  struct Case {
    std::string what;
    Json input;
    size_t clusters;  // after setting dp1
  };
  for (const Case& c : std::vector<Case>{{"new file", Json(), 1}, {"replaces dp1", other, 2}}) {
    Result<Json> set = SetFederationContext(c.input, "dp1", entry);
    ASSERT_TRUE(set.ok()) << c.what << set.status().ToString();
    ASSERT_EQ((*set)["clusters"].size(), c.clusters) << c.what;
    const Json& dp1 = (*set)["clusters"].back();
    EXPECT_EQ(dp1, Json::parse(R"({"name": "dp1", "cluster": {"server": "https://a",
                                   "certificate-authority-data": "Q0E="}})"));
    EXPECT_EQ((*set)["users"].back(), Json::parse(R"({"name":"dp1","user":{"token":"t1"}})"));
    EXPECT_EQ((*set)["contexts"].back(),
              Json::parse(R"({"name":"dp1","context":{"cluster":"dp1","user":"dp1"}})"));
    // Setting twice gives the same document (join is idempotent).
    EXPECT_EQ(*SetFederationContext(*set, "dp1", entry), *set) << c.what;
    // Removing leaves exactly the others.
    Json removed = RemoveFederationContext(*set, "dp1");
    EXPECT_EQ(removed["clusters"].size(), c.clusters - 1) << c.what;
    EXPECT_FALSE(removed.contains("current-context"));
    EXPECT_EQ(RemoveFederationContext(removed, "dp1"), removed);
  }
  EXPECT_EQ(RemoveFederationContext(other, "dp1")["clusters"][0]["name"], "dp2");

  FederationEntry insecure = entry;
  insecure.ca_data.clear();
  insecure.insecure_skip_tls_verify = true;
  EXPECT_EQ((*SetFederationContext(Json(), "x", insecure))["clusters"][0]["cluster"],
            Json::parse(R"({"server": "https://a", "insecure-skip-tls-verify": true})"));
  for (const Json& bad :
       {Json::parse("[1]"), Json::parse(R"({"clusters": {"a": 1}})"), Json::parse(R"("text")")}) {
    Result<Json> r = SetFederationContext(bad, "dp1", entry);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

TEST(ClustersJoin, ParsesTheSecretFlag) {
  struct Case {
    std::string text;
    std::string ns, name;  // "" = error
  };
  for (const Case& c : std::vector<Case>{
           {"br-federation/br-federation-kubeconfig", "br-federation", "br-federation-kubeconfig"},
           {"ns/a.b", "ns", "a.b"},
           {"no-slash", "", ""},
           {"/name", "", ""},
           {"ns/", "", ""},
           {"NS/name", "", ""},
           {"ns/Name", "", ""}}) {
    auto r = ParseSecretFlag(c.text);
    if (c.ns.empty()) {
      ASSERT_FALSE(r.ok()) << c.text;
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find("--secret \"" + c.text + "\""), std::string::npos);
    } else {
      ASSERT_TRUE(r.ok()) << c.text << r.status().ToString();
      EXPECT_EQ(*r, (std::pair{c.ns, c.name}));
    }
  }
  EXPECT_EQ(KubeconfigSecret("ns", "kc", "abc")["data"]["kubeconfig"], "YWJj");
  EXPECT_EQ(JsonStringAt(KubeconfigSecret("ns", "kc", "abc"), {"metadata", "namespace"}), "ns");
}

}  // namespace
}  // namespace brfed::cli
