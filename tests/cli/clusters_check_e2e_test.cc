// `brfed clusters check` against real data-plane API servers: one healthy, one without the
// pingcap.com CRDs, one whose token in the federation kubeconfig is wrong, one unreachable.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "kube/resource.h"
#include "tests/cli/cli_e2e_util.h"

namespace brfed::e2e {
namespace {

// One data plane of a federation kubeconfig: its server, the token to send ("" = none) and the
// CA that signed the server's certificate (base64, "" without TLS).
struct Plane {
  std::string name, server, token, ca_data;
};

std::string FederationKubeconfig(const std::vector<Plane>& planes) {
  std::string clusters, contexts, users;
  for (const Plane& p : planes) {
    clusters += "- name: " + p.name + "\n  cluster:\n    server: " + p.server + "\n" +
                (p.ca_data.empty() ? "" : "    certificate-authority-data: " + p.ca_data + "\n");
    contexts += "- name: " + p.name + "\n  context:\n    cluster: " + p.name +
                "\n    user: " + p.name + "\n";
    users += "- name: " + p.name +
             "\n  user:" + (p.token.empty() ? " {}\n" : "\n    token: " + p.token + "\n");
  }
  return "apiVersion: v1\nkind: Config\nclusters:\n" + clusters + "contexts:\n" + contexts +
         "users:\n" + users;
}

Plane PlaneOf(const std::string& name, const ApiServerProcess& server) {
  return {name, server.server(), server.token(), server.ca_data()};
}

void AddTidbCluster(kube::Client& client) {
  ASSERT_TRUE(
      client
          .Create(
              kube::resources::Namespace(), "",
              Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "tidb"}}}})
          .ok());
  Result<Json> tc = client.Create(kube::resources::TidbCluster(), "tidb",
                                  Json{{"apiVersion", "pingcap.com/v1alpha1"},
                                       {"kind", "TidbCluster"},
                                       {"metadata", {{"name", "basic"}}},
                                       {"spec", Json::object()}});
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
}

TEST(ClustersCheck, ReportsMissingCrdWrongTokenAndUnreachableServer) {
  const std::string dir = MakeTempDir("brfed-cli-check");
  const std::vector<std::string> test_crds = testing::DataPlaneCrdArgs(testing::TestBackend());
  std::vector<std::string> secured_args = test_crds;
  secured_args.insert(secured_args.end(), {"--token", "right-token"});
  ApiServerProcess good(dir, "good", test_crds);
  ApiServerProcess nocrd(dir, "nocrd", {});
  ApiServerProcess secured(dir, "secured", secured_args);
  ASSERT_TRUE(good.ok() && nocrd.ok() && secured.ok())
      << good.error() << nocrd.error() << secured.error();
  AddTidbCluster(*good.Client());

  const std::string healthy_only = dir + "/healthy.kubeconfig";
  WriteFile(healthy_only, FederationKubeconfig({PlaneOf("dp-1", good)}));
  RunResult ok = RunBrfed({"clusters", "check", "--federation-kubeconfig", healthy_only,
                           "--cluster", "dp-1=tidb/basic"},
                          {{"NO_COLOR", "1"}});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  // kube-apiserver answers SelfSubjectAccessReviews; brfed-apiserver does not serve them.
  const std::string access =
      testing::TestBackend() == testing::Backend::kKube ? "yes      " : "not checked   ";
  EXPECT_NE(ok.out.find("dp-1      yes         yes             yes    " + access + "1 found"),
            std::string::npos)
      << ok.out;

  const std::string federation = dir + "/federation.kubeconfig";
  WriteFile(federation,
            FederationKubeconfig({PlaneOf("dp-1", good),
                                  PlaneOf("dp-2", nocrd),
                                  {"dp-3", secured.server(), "wrong-token", secured.ca_data()},
                                  {"dp-4", "http://127.0.0.1:1", "", ""}}));
  RunResult r = RunBrfed({"clusters", "check"},
                         {{"BRFED_FEDERATION_KUBECONFIG", federation}, {"NO_COLOR", "1"}},
                         std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("dp-1      yes         yes             yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dp-2      yes         yes             missing backups.pingcap.com, "
                       "restores.pingcap.com"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("dp-3      yes         no"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dp-4      no"), std::string::npos) << r.out;
  // The fixes, in words.
  EXPECT_NE(r.out.find("dp-2: install TiDB Operator's CRDs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dp-3: the server rejected the credentials"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dp-4: start the API server at http://127.0.0.1:1"), std::string::npos)
      << r.out;

  // A --cluster naming a context that does not exist, or a TidbCluster that does not.
  RunResult unknown = RunBrfed({"clusters", "check", "--federation-kubeconfig", healthy_only,
                                "--cluster", "dp-9=tidb/basic"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("\"dp-9\""), std::string::npos) << unknown.err;
  RunResult missing_tc = RunBrfed({"clusters", "check", "--federation-kubeconfig", healthy_only,
                                   "--cluster", "dp-1=tidb/other"},
                                  {{"NO_COLOR", "1"}});
  EXPECT_EQ(missing_tc.exit_code, 1);
  EXPECT_NE(missing_tc.out.find("missing tidb/other"), std::string::npos) << missing_tc.out;
}

// Issue 18, item 3: a data plane whose API server is frozen (SIGSTOP: it accepts connections
// and never answers) is reported unreachable, named, with the error, within a bounded time;
// the healthy one is still checked.
TEST(ClustersCheck, AFrozenServerIsReportedUnreachableWithoutHanging) {
  const std::string dir = MakeTempDir("brfed-cli-check-frozen");
  const std::vector<std::string> test_crds = testing::DataPlaneCrdArgs(testing::TestBackend());
  ApiServerProcess good(dir, "good", test_crds);
  ApiServerProcess frozen(dir, "frozen", test_crds);
  ASSERT_TRUE(good.ok() && frozen.ok()) << good.error() << frozen.error();
  AddTidbCluster(*good.Client());
  const std::string federation = dir + "/federation.kubeconfig";
  WriteFile(federation, FederationKubeconfig({PlaneOf("dp-1", good), PlaneOf("dp-2", frozen)}));
  frozen.Signal(SIGSTOP);
  RunResult r = RunBrfed({"clusters", "check", "--federation-kubeconfig", federation},
                         {{"NO_COLOR", "1"}}, std::chrono::seconds(90));
  frozen.Signal(SIGCONT);
  EXPECT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("dp-1      yes         yes             yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dp-2      no"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dp-2: the API server at " + frozen.server() + " did not answer within 5s"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace brfed::e2e
