// `brfed clusters join` and `leave` against a real kube-apiserver with RBAC: the identity join
// writes into the federation kubeconfig may do exactly what deploy/data-plane/rbac.yaml grants
// (kubectl auth can-i, answered by the server's authorizer), a second join converges to the
// same state, a join with other namespaces moves the write access, leave removes everything and
// a second leave is fine; bad input fails before touching anything.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "kube/pem.h"
#include "tests/deploy/deploy_util.h"

namespace brfed::testing {
namespace {

std::string BrfedBinary() { return std::string(BRFED_BINARY_DIR) + "/src/cli/brfed"; }

CommandResult Brfed(std::vector<std::string> args) {
  ProcessOptions p;
  p.binary = BrfedBinary();
  p.args = std::move(args);
  p.env = {{"NO_COLOR", "1"}, {"BRFED_FEDERATION_KUBECONFIG", ""}};
  return RunCommand(p, 90s);
}

class ClustersJoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = KubeApiServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    dp_ = std::move(*server);
    for (const char* crd : {"backups", "restores", "tidbclusters"}) {
      ExpectOk(
          dp_->Kubectl({"apply", "--server-side", "-f",
                        SourcePath(std::string("deploy/crds/test/pingcap.com_") + crd + ".yaml")}),
          crd);
    }
    ExpectOk(
        dp_->Kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"}, 90s),
        "CRDs established");
    for (const char* ns : {"tidb", "other"})
      ExpectOk(dp_->Kubectl({"create", "namespace", ns}), ns);
    federation_ = dp_->dir().File("federation.kubeconfig");
  }

  static void ExpectOk(const Result<CommandResult>& r, const std::string& what) {
    ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
    ASSERT_EQ(r->exit_code, 0) << what << ": " << r->out << r->err;
  }

  // `brfed clusters join dp1` with a TokenRequest token (default) or `token_flags`.
  CommandResult Join(const std::vector<std::string>& tc_namespaces,
                     const std::vector<std::string>& token_flags = {"--token-duration", "1h"}) {
    std::vector<std::string> args = {
        "clusters", "join", "dp1", "--kubeconfig", dp_->kubeconfig(), "--federation-kubeconfig",
        federation_};
    args.insert(args.end(), token_flags.begin(), token_flags.end());
    for (const std::string& ns : tc_namespaces) args.insert(args.end(), {"--tc-namespace", ns});
    return Brfed(args);
  }
  CommandResult Leave() {
    return Brfed({"clusters", "leave", "dp1", "--kubeconfig", dp_->kubeconfig(),
                  "--federation-kubeconfig", federation_});
  }

  // What the server's authorizer answers for the identity of context dp1.
  std::string CanI(const std::string& verb, const std::string& resource, const std::string& ns) {
    std::vector<std::string> args = {"--kubeconfig", federation_, "--context", "dp1",
                                     "auth",         "can-i",     verb,        resource};
    if (ns.empty()) {
      args.push_back("--all-namespaces");
    } else {
      args.insert(args.end(), {"-n", ns});
    }
    Result<CommandResult> r = RunTool("kubectl", args);
    if (!r.ok()) return r.status().ToString();
    std::string answer = r->out;
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) {
      answer.pop_back();
    }
    return answer.empty() ? r->err : answer;
  }

  // Every object join made: "<kind>/<namespace>/<name>" of the labelled ones.
  std::set<std::string> JoinedObjects() {
    std::set<std::string> out;
    Result<CommandResult> r =
        dp_->Kubectl({"get", "serviceaccounts,clusterroles,clusterrolebindings,rolebindings", "-A",
                      "-l", "federation.pingcap.com/joined-as=dp1", "-o", "json"});
    if (!r.ok() || r->exit_code != 0) return {"kubectl get failed"};
    const Json list = Json::parse(r->out);
    for (const Json& item : list["items"]) {
      out.insert(JsonStringAt(item, {"kind"}) + "/" +
                 JsonStringAt(item, {"metadata", "namespace"}) + "/" +
                 JsonStringAt(item, {"metadata", "name"}));
    }
    return out;
  }

  Json FederationKubeconfig() { return ParseYaml(ReadFile(federation_)).value_or(Json()); }

  std::unique_ptr<KubeApiServer> dp_;
  std::string federation_;
};

const std::set<std::string> kCommon = {
    "ServiceAccount/br-federation/brfed-dp1", "ClusterRole//brfed-dp1-reader",
    "ClusterRole//brfed-dp1-writer", "ClusterRoleBinding//brfed-dp1-reader"};

std::set<std::string> With(std::set<std::string> s, const std::string& extra) {
  s.insert(extra);
  return s;
}

TEST_F(ClustersJoinTest, JoinGrantsExactlyTheManagersAccessAndLeaveUndoesIt) {
  // A file that already holds another data plane: join keeps it.
  WriteFile(federation_,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dp2\n  cluster:\n    server: "
            "https://127.0.0.1:1\nusers:\n- name: dp2\n  user:\n    token: t2\ncontexts:\n- name: "
            "dp2\n  context:\n    cluster: dp2\n    user: dp2\n");
  CommandResult join = Join({"tidb"});
  ASSERT_EQ(join.exit_code, 0) << join.out << join.err;
  EXPECT_NE(join.out.find("joined dp1"), std::string::npos) << join.out;
  struct stat st {};
  ASSERT_EQ(stat(federation_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(JoinedObjects(), With(kCommon, "RoleBinding/tidb/brfed-dp1-writer"));
  const Json first = FederationKubeconfig();
  ASSERT_EQ(first["contexts"].size(), 2u) << DumpJson(first);
  EXPECT_EQ(first["clusters"][0]["name"], "dp2");

  struct Access {
    std::string verb, resource, ns, answer;
  };
  const std::vector<Access> granted_in_tidb = {
      {"list", "backups.pingcap.com", "", "yes"},
      {"watch", "restores.pingcap.com", "", "yes"},
      {"get", "backups.pingcap.com", "tidb", "yes"},
      {"create", "backups.pingcap.com", "tidb", "yes"},
      {"patch", "backups.pingcap.com", "tidb", "yes"},
      {"delete", "restores.pingcap.com", "tidb", "yes"},
      {"create", "backups.pingcap.com", "other", "no"},
      {"get", "secrets", "tidb", "no"},
      {"list", "secrets", "", "no"},
      {"create", "configmaps", "tidb", "no"},
      {"patch", "tidbclusters.pingcap.com", "tidb", "no"},
      {"delete", "pods", "tidb", "no"},
      {"update", "backups.pingcap.com", "tidb", "no"},
  };
  for (const Access& a : granted_in_tidb) {
    EXPECT_EQ(CanI(a.verb, a.resource, a.ns), a.answer)
        << a.verb << " " << a.resource << " -n " << a.ns;
  }

  // Twice: the same objects, the same file apart from a fresh token.
  CommandResult again = Join({"tidb"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(JoinedObjects(), With(kCommon, "RoleBinding/tidb/brfed-dp1-writer"));
  Json second = FederationKubeconfig();
  EXPECT_EQ(second["clusters"], first["clusters"]);
  EXPECT_EQ(second["contexts"], first["contexts"]);
  EXPECT_EQ(second["users"].size(), 2u);
  EXPECT_EQ(CanI("create", "backups.pingcap.com", "tidb"), "yes");

  // Another namespace: the write access moves there.
  ASSERT_EQ(Join({"other"}).exit_code, 0);
  EXPECT_EQ(JoinedObjects(), With(kCommon, "RoleBinding/other/brfed-dp1-writer"));
  EXPECT_EQ(CanI("create", "backups.pingcap.com", "tidb"), "no");
  EXPECT_EQ(CanI("create", "backups.pingcap.com", "other"), "yes");

  CommandResult leave = Leave();
  ASSERT_EQ(leave.exit_code, 0) << leave.out << leave.err;
  EXPECT_EQ(JoinedObjects(), std::set<std::string>{});
  Json left = FederationKubeconfig();
  ASSERT_EQ(left["contexts"].size(), 1u) << DumpJson(left);
  EXPECT_EQ(left["contexts"][0]["name"], "dp2");
  EXPECT_EQ(left["users"].size(), 1u);
  CommandResult twice = Leave();
  EXPECT_EQ(twice.exit_code, 0) << twice.out << twice.err;
}

TEST_F(ClustersJoinTest, NoNamespaceMeansWriteAccessEverywhere) {
  ASSERT_EQ(Join({}).exit_code, 0);
  EXPECT_EQ(JoinedObjects(), With(kCommon, "ClusterRoleBinding//brfed-dp1-writer"));
  EXPECT_EQ(CanI("create", "backups.pingcap.com", "other"), "yes");
  EXPECT_EQ(CanI("get", "secrets", "other"), "no");
  // Narrowing it to one namespace removes the cluster-wide binding.
  ASSERT_EQ(Join({"tidb"}).exit_code, 0);
  EXPECT_EQ(JoinedObjects(), With(kCommon, "RoleBinding/tidb/brfed-dp1-writer"));
  EXPECT_EQ(CanI("create", "backups.pingcap.com", "other"), "no");
  ASSERT_EQ(Leave().exit_code, 0);
  EXPECT_EQ(JoinedObjects(), std::set<std::string>{});
}

// `brfed clusters check` with the identity join made: the server's authorizer answers its
// SelfSubjectAccessReviews. The identity passes where its TidbCluster lives; a verb taken from
// its role, or a target in a namespace it may not write, is named in the ACCESS column and the
// fix names the namespace.
TEST_F(ClustersJoinTest, CheckNamesTheVerbTheIdentityLacks) {
  ASSERT_EQ(Join({"tidb"}).exit_code, 0);
  const std::string tc = dp_->dir().File("tidbcluster.yaml");
  WriteFile(tc,
            "apiVersion: pingcap.com/v1alpha1\nkind: TidbCluster\nmetadata:\n  name: basic\n  "
            "namespace: tidb\nspec: {}\n");
  ExpectOk(dp_->Kubectl({"apply", "-f", tc}), "TidbCluster");
  auto check = [&](const std::string& target) {
    return Brfed({"clusters", "check", "--federation-kubeconfig", federation_, "--cluster",
                  "dp1=" + target});
  };
  CommandResult ok = check("tidb/basic");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  // The manager's identity may not read TidbClusters (it never does): not a failure.
  EXPECT_NE(ok.out.find("dp1       yes         yes             yes    yes      not readable"),
            std::string::npos)
      << ok.out;

  // A TidbCluster in a namespace the identity may not write members in.
  CommandResult elsewhere = check("other/basic");
  EXPECT_EQ(elsewhere.exit_code, 1);
  EXPECT_NE(elsewhere.out.find("denied: create backups, patch backups, delete backups, "
                               "create restores, patch restores, delete restores"),
            std::string::npos)
      << elsewhere.out;
  EXPECT_NE(elsewhere.out.find("in namespace other of \"dp1\""), std::string::npos)
      << elsewhere.out;

  // Take delete away from the writer role: the check names exactly that verb.
  ExpectOk(
      dp_->Kubectl({"patch", "clusterrole", "brfed-dp1-writer", "--type=json", "-p",
                    R"([{"op":"replace","path":"/rules/0/verbs","value":["create","patch"]}])"}),
      "patch the writer role");
  CommandResult denied;
  EXPECT_TRUE(WaitFor(
      [&] {
        denied = check("tidb/basic");  // the authorizer sees the change within moments
        return denied.exit_code == 1;
      },
      30s))
      << denied.out << denied.err;
  EXPECT_NE(denied.out.find("denied: delete backups, delete restores"), std::string::npos)
      << denied.out;
  EXPECT_NE(denied.out.find("dp1: grant the manager's user delete backups, delete restores on "
                            "pingcap.com in namespace tidb"),
            std::string::npos)
      << denied.out;
  ASSERT_EQ(Leave().exit_code, 0);
}

// --secret: the control plane's Secret (here in the same server) holds what the file holds, after
// join and after leave; a Secret the server refuses fails the command, naming it.
TEST_F(ClustersJoinTest, SecretHoldsTheFederationKubeconfig) {
  const std::string kc = dp_->kubeconfig();
  auto secret_text = [&] {
    Result<CommandResult> r = dp_->Kubectl(
        {"-n", "br-federation", "get", "secret", "fed-kc", "-o", "jsonpath={.data.kubeconfig}"});
    if (!r.ok() || r->exit_code != 0) return std::string("(no secret)");
    return kube::DecodeBase64(r->out).value_or("(bad base64)");
  };
  const std::vector<std::string> secret = {
      "--federation-kubeconfig", federation_, "--secret", "br-federation/fed-kc",
      "--control-kubeconfig",    kc};
  std::vector<std::string> join = {"clusters", "join", "dp1", "--kubeconfig", kc};
  join.insert(join.end(), secret.begin(), secret.end());
  CommandResult joined = Brfed(join);
  ASSERT_EQ(joined.exit_code, 0) << joined.out << joined.err;
  EXPECT_EQ(secret_text(), ReadFile(federation_));
  EXPECT_EQ(ParseYaml(secret_text()).value_or(Json())["contexts"][0]["name"], "dp1");

  std::vector<std::string> leave = {"clusters", "leave", "dp1", "--kubeconfig", kc};
  leave.insert(leave.end(), secret.begin(), secret.end());
  CommandResult left = Brfed(leave);
  ASSERT_EQ(left.exit_code, 0) << left.out << left.err;
  EXPECT_EQ(secret_text(), ReadFile(federation_));
  EXPECT_EQ(ParseYaml(secret_text()).value_or(Json())["contexts"], Json::array());

  join[join.size() - 3] = "absent/fed-kc";
  CommandResult refused = Brfed(join);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("Secret absent/fed-kc"), std::string::npos) << refused.err;
  join[join.size() - 3] = "Bad/fed-kc";
  CommandResult bad = Brfed(join);
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("--secret \"Bad/fed-kc\""), std::string::npos) << bad.err;
}

// --token-secret: the token is the one the token controller put in Secret brfed-dp1-token; a
// second join keeps it; a TokenRequest join deletes the Secret, which revokes its token; leave
// deletes it too.
TEST_F(ClustersJoinTest, TokenSecretJoinKeepsOneLongLivedTokenUntilLeave) {
  auto token_in_file = [&] {
    Json users = FederationKubeconfig().value("users", Json::array());
    return users.size() == 1 ? JsonStringAt(users[0], {"user", "token"}) : "(no single user)";
  };
  auto token_in_secret = [&] {
    Result<CommandResult> r = dp_->Kubectl({"-n", "br-federation", "get", "secret",
                                            "brfed-dp1-token", "-o", "jsonpath={.data.token}"});
    if (!r.ok() || r->exit_code != 0) return std::string("(no secret)");
    return kube::DecodeBase64(r->out).value_or("(bad base64)");
  };
  auto accepted = [&](const std::string& token) {
    Result<CommandResult> r = dp_->Kubectl({"--token", token, "auth", "whoami"});
    return r.ok() && r->exit_code == 0;
  };
  const std::vector<std::string> secret = {"--token-secret"};
  CommandResult first = Join({"tidb"}, secret);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string token = token_in_file();
  EXPECT_EQ(token, token_in_secret());
  EXPECT_TRUE(accepted(token));
  EXPECT_EQ(CanI("get", "secrets", "br-federation"), "no");
  EXPECT_EQ(CanI("create", "backups.pingcap.com", "tidb"), "yes");
  auto label = dp_->Kubectl({"-n", "br-federation", "get", "secret", "brfed-dp1-token", "-o",
                             "jsonpath={.metadata.labels.federation\\.pingcap\\.com/joined-as}"});
  EXPECT_EQ(label.ok() ? label->out : "", "dp1");

  CommandResult second = Join({"tidb"}, secret);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(token_in_file(), token);

  // Back to TokenRequest: the long-lived token goes with its Secret.
  ASSERT_EQ(Join({"tidb"}).exit_code, 0);
  EXPECT_EQ(token_in_secret(), "(no secret)");
  EXPECT_NE(token_in_file(), token);
  EXPECT_TRUE(WaitFor([&] { return !accepted(token); }, 30s)) << "the old token still works";
  EXPECT_TRUE(accepted(token_in_file()));

  ASSERT_EQ(Join({"tidb"}, secret).exit_code, 0);
  const std::string again = token_in_file();
  EXPECT_TRUE(accepted(again));
  ASSERT_EQ(Leave().exit_code, 0);
  EXPECT_EQ(token_in_secret(), "(no secret)");
  EXPECT_TRUE(WaitFor([&] { return !accepted(again); }, 30s)) << "leave left the token working";
}

TEST_F(ClustersJoinTest, BadInputFailsClearlyAndChangesNothing) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::string kc = dp_->kubeconfig();
  const std::vector<Case> cases = {
      {{"clusters", "join", "Bad_Name", "--kubeconfig", kc}, 2, "cluster name \"Bad_Name\""},
      {{"clusters", "join", "dp1", "--kubeconfig", kc, "--token-duration", "1m"},
       2,
       "--token-duration \"1m\""},
      {{"clusters", "join", "dp1", "--kubeconfig", kc, "--tc-namespace", "No"},
       2,
       "--tc-namespace \"No\""},
      {{"clusters", "join", "dp1", "--kubeconfig", "/nonexistent/kubeconfig"},
       2,
       "/nonexistent/kubeconfig"},
      {{"clusters", "join", "dp1", "--kubeconfig", kc, "--context", "nope"},
       2,
       "cannot load the data plane's kubeconfig"},
      {{"clusters", "join", "dp1", "--kubeconfig", kc, "--tc-namespace", "absent"}, 1, "absent"},
      {{"clusters", "join", "dp1", "--kubeconfig", kc, "--token-secret", "--token-duration", "1h"},
       2,
       "--token-duration excludes --token-secret"},
      {{"clusters", "join", "--kubeconfig", kc}, 2, "NAME"},
      {{"clusters", "leave", "Bad_Name", "--kubeconfig", kc}, 2, "cluster name"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--federation-kubeconfig", federation_});
    CommandResult r = Brfed(args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[2] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // A federation kubeconfig that is not one is refused, and left as it was.
  WriteFile(federation_, "- just\n- a list\n");
  CommandResult r = Join({"tidb"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("is not a kubeconfig"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(federation_), "- just\n- a list\n");
}

}  // namespace
}  // namespace brfed::testing
