// The kube client and the runtime against real API server processes on loopback (brfed-apiserver,
// or kube-apiserver with BRFED_TEST_APISERVER=kube): TLS with
// a token, TLS with a client certificate, an exec credential plugin (including a refresh after
// a 401), an informer that keeps an exact copy through dropped watches, a 410 relist and a
// server restart with --data-dir, and leader election with two candidates.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/pem.h"
#include "kube/testing/testing_util.h"
#include "runtime/informer.h"
#include "runtime/leader_election.h"
#include "runtime/metrics.h"
#include "tests/harness/harness.h"

namespace brfed {
namespace {

using namespace std::chrono_literals;
using kube::testing::TempDir;

using testing::WaitFor;

// Starts the API server under test through the shared harness.
Result<testing::ApiServer> Start(const std::string& dir, const std::string& name,
                                 std::vector<std::string> args, bool tls = false,
                                 const std::string& token = "", const std::string& data = "") {
  testing::ApiServerOptions o;
  o.dir = dir;
  o.name = name;
  o.tls = tls;
  o.token = token;
  o.data_dir = data;
  o.extra_args = std::move(args);
  return testing::StartApiServer(o);
}

std::shared_ptr<kube::Client> ClientFor(const kube::RestConfig& rc,
                                        kube::ClientMetrics* metrics = nullptr) {
  auto c = kube::NewClient(rc, metrics);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : nullptr;
}

kube::RestConfig ConfigFrom(const testing::ApiServer& server) {
  auto kc = kube::Kubeconfig::LoadFile(server.kubeconfig);
  EXPECT_TRUE(kc.ok()) << kc.status().ToString();
  auto rc = kc->ForContext("");
  EXPECT_TRUE(rc.ok()) << rc.status().ToString();
  return *rc;
}

Json ConfigMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}}},
          {"data", {{"v", value}}}};
}

void EnsureNamespace(kube::Client& c, const std::string& ns) {
  auto r =
      c.Create(kube::resources::Namespace(), "",
               Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  ASSERT_TRUE(r.ok() || r.status().code() == Code::kAlreadyExists) << r.status().ToString();
}

// Exercises the verbs and the typed errors once.
void ExerciseVerbs(kube::Client& c) {
  const auto& cm = kube::resources::ConfigMap();
  EnsureNamespace(c, "default");
  auto created = c.Create(cm, "default", ConfigMap("verbs", "1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString()
                            << " http=" << created.status().http_status();
  EXPECT_EQ(c.Create(cm, "default", ConfigMap("verbs", "1")).status().code(), Code::kAlreadyExists);
  Json stale = *created;
  auto patched =
      c.Patch(cm, "default", "verbs", kube::PatchType::kMerge, Json{{"data", {{"v", "2"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  stale["data"]["v"] = "3";
  auto conflict = c.Update(cm, stale);
  EXPECT_EQ(conflict.status().code(), Code::kConflict) << conflict.status().ToString();
  auto json_patched =
      c.Patch(cm, "default", "verbs", kube::PatchType::kJsonPatch,
              Json::array({{{"op", "test"}, {"path", "/data/v"}, {"value", "2"}},
                           {{"op", "replace"}, {"path", "/data/v"}, {"value", "4"}}}));
  ASSERT_TRUE(json_patched.ok()) << json_patched.status().ToString();
  auto got = c.Get(cm, "default", "verbs");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(JsonStringAt(*got, {"data", "v"}), "4");
  auto list = c.List(cm, "default");
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE(JsonStringAt(*list, {"metadata", "resourceVersion"}).empty());
  EXPECT_TRUE(c.Delete(cm, "default", "verbs").ok());
  auto missing = c.Get(cm, "default", "verbs");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().http_status(), 404);
  EXPECT_EQ(missing.status().reason(), "NotFound");
}

TEST(KubeIntegrationTest, TlsWithToken) {
  TempDir dir;
  auto server = Start(dir.path(), "tls-token", {}, true, "s3cret");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  kube::RestConfig rc = ConfigFrom(*server);
  EXPECT_FALSE(rc.ca_pem.empty());
  EXPECT_EQ(rc.server.rfind("https://", 0), 0u);
  auto client = ClientFor(rc);
  ASSERT_NE(client, nullptr);
  ExerciseVerbs(*client);
  // tls-server-name: verify the certificate for another name than the one dialled.
  kube::RestConfig named = rc;
  named.tls_server_name = "localhost";
  EXPECT_TRUE(ClientFor(named)->List(kube::resources::ConfigMap(), "default").ok());
  named.tls_server_name = "not-in-the-certificate.example";
  EXPECT_EQ(ClientFor(named)->List(kube::resources::ConfigMap(), "default").status().code(),
            Code::kUnavailable);
  rc.bearer_token = "wrong";
  auto bad = ClientFor(rc)->Get(kube::resources::ConfigMap(), "default", "x");
  EXPECT_EQ(bad.status().code(), Code::kUnauthorized);
  // Without the CA the server's certificate is not trusted.
  rc.ca_pem.clear();
  rc.bearer_token = "s3cret";
  auto untrusted = ClientFor(rc)->Get(kube::resources::ConfigMap(), "default", "x");
  EXPECT_EQ(untrusted.status().code(), Code::kUnavailable);
}

// The configured User-Agent reaches the server (its audit log tells the programs apart).
TEST(KubeIntegrationTest, UserAgentIsSentAsConfigured) {
  TempDir dir;
  const std::string audit = dir.path() + "/audit.jsonl";
  auto server = Start(dir.path(), "user-agent", {"--audit-log", audit});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  kube::RestConfig rc = ConfigFrom(*server);
  EXPECT_EQ(rc.user_agent, "brfed");
  rc.user_agent = "ua-probe/1.2";
  ASSERT_TRUE(ClientFor(rc)->List(kube::resources::ConfigMap(), "default").ok());
  // kube-apiserver's audit log holds audit.k8s.io Events (userAgent), ours flat lines.
  const std::string needle = server->backend == testing::Backend::kKube
                                 ? R"("userAgent":"ua-probe/1.2")"
                                 : R"("user_agent":"ua-probe/1.2")";
  EXPECT_TRUE(WaitFor([&] { return testing::ReadFile(audit).find(needle) != std::string::npos; }))
      << testing::ReadFile(audit);
}

TEST(KubeIntegrationTest, TlsWithClientCertificate) {
  TempDir dir;
  auto cert = kube::testing::MakeSelfSigned(dir, "client");
  ASSERT_FALSE(cert.cert_pem.empty());
  auto server = Start(dir.path(), "cc", {"--client-ca-file", dir.path() + "/client.crt"}, true);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  kube::RestConfig rc = ConfigFrom(*server);
  auto anonymous = ClientFor(rc)->Get(kube::resources::ConfigMap(), "default", "x");
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthorized);
  rc.client_cert_pem = cert.cert_pem;
  rc.client_key_pem = cert.key_pem;
  auto client = ClientFor(rc);
  ExerciseVerbs(*client);
}

TEST(KubeIntegrationTest, ExecPluginWithRefreshAfter401) {
  TempDir dir;
  auto server = Start(dir.path(), "exec", {}, true, "fresh-token");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  kube::RestConfig base = ConfigFrom(*server);
  // The first run issues a token the server rejects; later runs issue the right one.
  dir.Write("plugin.sh", R"(#!/bin/sh
d=$(dirname "$0"); n=$(cat "$d/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/runs"
tok=fresh-token; [ $n -eq 1 ] && tok=stale-token
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}' $tok
)",
            true);
  std::string kubeconfig =
      "apiVersion: v1\nkind: Config\ncurrent-context: eks\nclusters:\n- name: c\n  cluster:\n"
      "    server: " +
      base.server + "\n    certificate-authority-data: " + kube::EncodeBase64(base.ca_pem) +
      "\nusers:\n- name: u\n  user:\n    exec:\n"
      "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: ./plugin.sh\n"
      "      installHint: run the test\ncontexts:\n- name: eks\n  context: {cluster: c, user: u}\n";
  std::string path = dir.Write("exec-kubeconfig", kubeconfig);
  auto kc = kube::Kubeconfig::LoadFile(path);
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  auto rc = kc->ForContext("eks");
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  auto client = ClientFor(*rc);
  ExerciseVerbs(*client);
  EXPECT_EQ(dir.Read("runs"), "2\n");  // one stale token, one refresh after the 401
}

// The informer's store equals the server's objects (keys and resourceVersions).
bool ExactCopy(const runtime::Informer& informer, kube::Client& client) {
  auto list = client.List(kube::resources::ConfigMap(), "");
  if (!list.ok()) return false;
  const Json& items = (*list)["items"];
  if (items.size() != informer.cache().size()) return false;
  for (const auto& item : items) {
    auto cached = informer.cache().Get(runtime::KeyOf(item));
    if (!cached || JsonStringAt(*cached, {"metadata", "resourceVersion"}) !=
                       JsonStringAt(item, {"metadata", "resourceVersion"})) {
      return false;
    }
  }
  return true;
}

std::string Describe(const runtime::Informer& informer, kube::Client& client) {
  std::string out = "cache:";
  for (const auto& o : informer.cache().List()) {
    out +=
        " " + runtime::KeyOf(*o).String() + "@" + JsonStringAt(*o, {"metadata", "resourceVersion"});
  }
  auto list = client.List(kube::resources::ConfigMap(), "");
  if (!list.ok()) return out + " server: " + list.status().ToString();
  out += " server(rv " + JsonStringAt(*list, {"metadata", "resourceVersion"}) + "):";
  for (const auto& o : (*list)["items"]) {
    out +=
        " " + runtime::KeyOf(o).String() + "@" + JsonStringAt(o, {"metadata", "resourceVersion"});
  }
  return out;
}

void Churn(kube::Client& c, const std::string& prefix, int n) {
  const auto& cm = kube::resources::ConfigMap();
  for (int i = 0; i < n; ++i) {
    std::string name = prefix + std::to_string(i % 7);
    auto got = c.Get(cm, "default", name);
    if (!got.ok()) {
      (void)c.Create(cm, "default", ConfigMap(name, std::to_string(i)));
    } else if (i % 3 == 0) {
      (void)c.Delete(cm, "default", name);
    } else {
      (void)c.Patch(cm, "default", name, kube::PatchType::kMerge,
                    Json{{"data", {{"v", std::to_string(i)}}}});
    }
  }
}

TEST(KubeIntegrationTest, InformerKeepsExactCopyThroughDropsGoneAndRestart) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  std::vector<std::string> args = {"--enable-fault-injection", "--watch-history", "3"};
  auto server = Start(dir.path(), "informer", args, false, "", data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  kube::RestConfig rc = ConfigFrom(*server);
  rc.timeout = 5s;
  runtime::MetricsRegistry registry;
  auto client_metrics = runtime::NewClientMetrics(&registry);
  auto client = ClientFor(rc, client_metrics.get());
  EnsureNamespace(*client, "default");
  Churn(*client, "pre-", 20);

  runtime::InformerOptions options;
  options.backoff.initial = 100ms;
  options.backoff.max = 1s;
  options.metrics = client_metrics.get();
  runtime::Informer informer(client, kube::resources::ConfigMap(), options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30s));
  ASSERT_TRUE(WaitFor([&] { return ExactCopy(informer, *client); }));

  // 1. Dropped watch streams: resume from the last resourceVersion.
  for (int round = 0; round < 3; ++round) {
    auto dropped = client->Request("POST", "/admin/faults/drop-watches", nullptr);
    ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
    Churn(*client, "drop-", 10);
  }
  ASSERT_TRUE(WaitFor([&] { return ExactCopy(informer, *client); }));

  // 2. 410: watches fail while more changes than the server's history happen, so the resume
  // point is gone and the informer must relist (and diff) to converge.
  Json rules = {{"rules", Json::array({{{"verb", "watch"},
                                        {"resource", "configmaps"},
                                        {"failFraction", 1.0},
                                        {"failCode", 500}}})}};
  ASSERT_TRUE(client->Request("PUT", "/admin/faults", &rules).ok());
  ASSERT_TRUE(client->Request("POST", "/admin/faults/drop-watches", nullptr).ok());
  Churn(*client, "gone-", 30);
  ASSERT_TRUE(client->Request("DELETE", "/admin/faults", nullptr).ok());
  ASSERT_TRUE(WaitFor([&] { return ExactCopy(informer, *client); }));
  EXPECT_NE(registry.Expose().find("relists_total{cluster=\"informer\""), std::string::npos)
      << registry.Expose();

  // 3. Server restart on the same port with the same data directory.
  std::string port = rc.server.substr(rc.server.rfind(':') + 1);
  server->process->Terminate();
  ASSERT_TRUE(server->process->Wait(30s).ok());
  args.push_back("--listen");
  args.push_back("127.0.0.1:" + port);
  auto restarted = Start(dir.path(), "informer", args, false, "", data);
  ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
  std::string before = Describe(informer, *client);
  Churn(*client, "restart-", 20);
  ASSERT_TRUE(WaitFor([&] { return ExactCopy(informer, *client); }))
      << "before: " << before << "\nafter: " << Describe(informer, *client);
  informer.Stop();
}

TEST(KubeIntegrationTest, LeaderElectionWithTwoCandidates) {
  TempDir dir;
  auto server = Start(dir.path(), "lease", {});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  kube::RestConfig rc = ConfigFrom(*server);
  EnsureNamespace(*ClientFor(rc), "default");
  auto config = [](const std::string& id) {
    runtime::LeaderElector::Config c;
    c.ns = "default";
    c.name = "brfed-manager";
    c.identity = id;
    c.lease_duration = 3s;
    c.renew_deadline = 2s;
    c.retry_period = 200ms;
    return c;
  };
  runtime::LeaderElector a(ClientFor(rc), config("a"));
  runtime::LeaderElector b(ClientFor(rc), config("b"));
  std::atomic<int> leaders{0};
  std::atomic<bool> overlap{false};
  auto started = [&] {
    if (++leaders > 1) overlap = true;
  };
  auto stopped = [&] { --leaders; };
  std::thread ta([&] { EXPECT_TRUE(a.Run(started, stopped).ok()); });
  std::thread tb([&] { EXPECT_TRUE(b.Run(started, stopped).ok()); });
  // No ASSERT while the candidate threads run: failures must still stop and join them.
  bool someone_leads = WaitFor([&] { return a.IsLeader() || b.IsLeader(); });
  EXPECT_TRUE(someone_leads);
  runtime::LeaderElector& first = a.IsLeader() ? a : b;
  runtime::LeaderElector& second = a.IsLeader() ? b : a;
  EXPECT_FALSE(second.IsLeader());
  first.Stop();
  EXPECT_TRUE(someone_leads && WaitFor([&] { return second.IsLeader(); }, 10s));
  EXPECT_FALSE(first.IsLeader());
  second.Stop();
  ta.join();
  tb.join();
  EXPECT_FALSE(overlap.load());
}

TEST(KubeIntegrationTest, UnreachableServerIsATypedError) {
  kube::RestConfig rc;
  rc.context_name = "nowhere";
  rc.server = "https://127.0.0.1:9";
  rc.timeout = 2s;
  auto r = ClientFor(rc)->Get(kube::resources::ConfigMap(), "default", "x");
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace brfed
