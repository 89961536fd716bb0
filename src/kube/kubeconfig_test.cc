#include "kube/kubeconfig.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "kube/pem.h"
#include "kube/testing/testing_util.h"

namespace brfed::kube {
namespace {

using testing::TempDir;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = testing::MakeSelfSigned(dir_, "kc");
    ASSERT_FALSE(certs_.cert_pem.empty()) << "openssl CLI failed";
  }
  std::string Good() const {
    return "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
           "clusters:\n"
           "- name: ca\n  cluster:\n    server: https://127.0.0.1:6443/\n"
           "    certificate-authority-data: " +
           EncodeBase64(certs_.cert_pem) +
           "\n"
           "    tls-server-name: api.example\n    proxy-url: http://proxy:3128\n"
           "- name: cb\n  cluster:\n    server: https://b:443\n    insecure-skip-tls-verify: true\n"
           "users:\n"
           "- name: ua\n  user:\n    client-certificate-data: " +
           EncodeBase64(certs_.cert_pem) +
           "\n    client-key-data: " + EncodeBase64(certs_.key_pem) +
           "\n"
           "- name: ub\n  user:\n    token: secret-b\n"
           "contexts:\n"
           "- name: a\n  context: {cluster: ca, user: ua}\n"
           "- name: b\n  context: {cluster: cb, user: ub}\n";
  }
  TempDir dir_;
  testing::CertPair certs_;
};

TEST_F(KubeconfigTest, ParsesContextsClustersAndUsers) {
  auto kc = Kubeconfig::Parse(Good(), "test");
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  EXPECT_EQ(kc->ContextNames(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(kc->CurrentContext(), "a");
  auto a = kc->ForContext("");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->context_name, "a");
  EXPECT_EQ(a->server, "https://127.0.0.1:6443");
  EXPECT_EQ(a->ca_pem, certs_.cert_pem);
  EXPECT_EQ(a->client_cert_pem, certs_.cert_pem);
  EXPECT_EQ(a->client_key_pem, certs_.key_pem);
  EXPECT_EQ(a->tls_server_name, "api.example");
  EXPECT_EQ(a->proxy_url, "http://proxy:3128");
  EXPECT_FALSE(a->insecure_skip_tls_verify);
  auto b = kc->ForContext("b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->insecure_skip_tls_verify);
  EXPECT_EQ(b->bearer_token, "secret-b");
}

TEST_F(KubeconfigTest, FilesAreRelativeToTheKubeconfig) {
  dir_.Write("ca.pem", certs_.cert_pem);
  dir_.Write("tok", "file-token\n");
  std::string path = dir_.Write("config",
                                "current-context: c\nclusters:\n- name: x\n  cluster:\n"
                                "    server: https://h:1\n    certificate-authority: ca.pem\n"
                                "users:\n- name: u\n  user:\n    tokenFile: tok\n"
                                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                                "      command: ./bin/plugin\n"
                                "contexts:\n- name: c\n  context: {cluster: x, user: u}\n");
  auto kc = Kubeconfig::LoadFile(path);
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  auto c = kc->ForContext("c");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->ca_pem, certs_.cert_pem);
  EXPECT_EQ(c->token_file, dir_.path() + "/tok");
  ASSERT_TRUE(c->exec.has_value());
  EXPECT_EQ(c->exec->command, dir_.path() + "/./bin/plugin");
}

TEST_F(KubeconfigTest, BareExecCommandUsesPath) {
  auto kc = Kubeconfig::Parse(
      "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
      "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
      "command: aws, args: [eks, get-token], env: [{name: A, value: b}], "
      "installHint: install aws, provideClusterInfo: true}}}]\n"
      "contexts: [{name: c, context: {cluster: x, user: u}}]\n",
      "t", "/some/dir");
  ASSERT_TRUE(kc.ok());
  auto c = kc->ForContext("c");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->exec->command, "aws");
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"eks", "get-token"}));
  ASSERT_EQ(c->exec->env.size(), 1u);
  EXPECT_EQ(c->exec->env[0].first, "A");
  EXPECT_EQ(c->exec->install_hint, "install aws");
  EXPECT_TRUE(c->exec->provide_cluster_info);
}

// Each malformed input yields kInvalidArgument whose message names the file, the context and
// the field.
struct BadCase {
  const char* name;
  std::string yaml;
  std::string context;
  std::vector<std::string> expect_in_message;
};

TEST_F(KubeconfigTest, MalformedInputsNameFileContextAndField) {
  const std::string users = "users: [{name: u, user: {token: t}}]\n";
  const std::string ctx = "contexts: [{name: c, context: {cluster: x, user: u}}]\n";
  std::vector<BadCase> cases = {
      {"missing server",
       "clusters: [{name: x, cluster: {}}]\n" + users + ctx,
       "c",
       {"bad.yaml", "context \"c\"", "cluster \"x\"", "server: missing"}},
      {"bad scheme",
       "clusters: [{name: x, cluster: {server: 'h:1'}}]\n" + users + ctx,
       "c",
       {"server: must start with https://"}},
      {"bad base64",
       "clusters: [{name: x, cluster: {server: 'https://h', "
       "certificate-authority-data: '!!notbase64'}}]\n" +
           users + ctx,
       "c",
       {"context \"c\"", "certificate-authority-data: bad base64"}},
      {"bad PEM",
       "clusters: [{name: x, cluster: {server: 'https://h', "
       "certificate-authority-data: " +
           EncodeBase64("hello") + "}}]\n" + users + ctx,
       "c",
       {"certificate-authority-data: not a PEM certificate"}},
      {"corrupt PEM",
       "clusters: [{name: x, cluster: {server: 'https://h', "
       "certificate-authority-data: " +
           EncodeBase64("-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                        "CERTIFICATE-----\n") +
           "}}]\n" + users + ctx,
       "c",
       {"malformed PEM certificate"}},
      {"unknown context",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n" + users + ctx,
       "nope",
       {"context \"nope\" not found", "known: c"}},
      {"dangling cluster", users + ctx, "c", {"cluster: \"x\" is not defined"}},
      {"dangling user",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n" + ctx,
       "c",
       {"user: \"u\" is not defined"}},
      {"cert without key",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {client-certificate-data: " +
           EncodeBase64(certs_.cert_pem) + "}}]\n" + ctx,
       "c",
       {"user \"u\"", "client-key: missing"}},
      {"key is not a key",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {client-certificate-data: " +
           EncodeBase64(certs_.cert_pem) + ", client-key-data: " + EncodeBase64(certs_.cert_pem) +
           "}}]\n" + ctx,
       "c",
       {"client-key-data: not a PEM private key"}},
      {"missing cert file",
       "clusters: [{name: x, cluster: {server: 'https://h', "
       "certificate-authority: /nonexistent/ca.pem}}]\n" +
           users + ctx,
       "c",
       {"certificate-authority: cannot read /nonexistent/ca.pem"}},
      {"missing token file",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {tokenFile: /nonexistent/tok}}]\n" +
           ctx,
       "c",
       {"tokenFile: cannot read /nonexistent/tok"}},
      {"exec without apiVersion",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {exec: {command: aws}}}]\n" +
           ctx,
       "c",
       {"exec.apiVersion: missing"}},
      {"exec without command",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {exec: {apiVersion: "
       "client.authentication.k8s.io/v1}}}]\n" +
           ctx,
       "c",
       {"exec.command: missing"}},
      {"auth-provider",
       "clusters: [{name: x, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {auth-provider: {name: oidc}}}]\n" +
           ctx,
       "c",
       {"auth-provider: legacy"}},
      {"insecure not bool",
       "clusters: [{name: x, cluster: {server: 'https://h', "
       "insecure-skip-tls-verify: maybe}}]\n" +
           users + ctx,
       "c",
       {"insecure-skip-tls-verify: must be true or false"}},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto kc = Kubeconfig::Parse(tc.yaml, "bad.yaml");
    ASSERT_TRUE(kc.ok()) << kc.status().ToString();
    auto rc = kc->ForContext(tc.context);
    ASSERT_FALSE(rc.ok());
    EXPECT_EQ(rc.status().code(), Code::kInvalidArgument);
    for (const auto& want : tc.expect_in_message) {
      EXPECT_NE(rc.status().message().find(want), std::string::npos)
          << rc.status().message() << " lacks " << want;
    }
  }
}

TEST_F(KubeconfigTest, StructuralErrorsAtParse) {
  EXPECT_FALSE(Kubeconfig::Parse("clusters: {a: b}\n", "f").ok());
  EXPECT_FALSE(Kubeconfig::Parse("clusters: [{cluster: {}}]\n", "f").ok());
  EXPECT_FALSE(Kubeconfig::Parse("[1, 2", "f").ok());
  EXPECT_FALSE(Kubeconfig::Parse("- a\n- b\n", "f").ok());
  auto missing = Kubeconfig::LoadFile(dir_.path() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nope"), std::string::npos);
  auto no_current = Kubeconfig::Parse("contexts: []\n", "f");
  ASSERT_TRUE(no_current.ok());
  EXPECT_FALSE(no_current->ForContext("").ok());
}

// Issue 18, finding 4: text that is not a kubeconfig must not load as "no clusters".
TEST_F(KubeconfigTest, TextThatIsNotAKubeconfigIsAnError) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty"},
      {"\n  \n# only a comment\n", "empty"},
      {"~\n", "empty"},
      {std::string("\x89\xfe\x01\x00\x7f garbage", 13), "kubeconfig f"},
      {"just some words\n", "not a mapping"},
      {"::: [\n", "kubeconfig f"},
      {"foo: bar\nreplicas: 3\n", "not a kubeconfig"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "kind: must be Config"},
      {"kind: [Config]\n", "kind: must be Config"},
  };
  for (const auto& [text, want] : cases) {
    auto kc = Kubeconfig::Parse(text, "f");
    ASSERT_FALSE(kc.ok()) << "accepted: " << text;
    EXPECT_EQ(kc.status().code(), Code::kInvalidArgument);
    EXPECT_NE(kc.status().message().find(want), std::string::npos) << kc.status().message();
  }
  // A real kubeconfig with no contexts is still one (a federation with no data planes yet).
  EXPECT_TRUE(Kubeconfig::Parse("apiVersion: v1\nkind: Config\n", "f").ok());
  EXPECT_TRUE(Kubeconfig::Parse("contexts: []\n", "f").ok());
  // In a KUBECONFIG list an empty file is skipped, as kubectl does.
  std::string empty = dir_.Write("empty", "");
  std::string good = dir_.Write("good",
                                "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
                                "contexts: [{name: c, context: {cluster: c}}]\n");
  auto merged = Kubeconfig::LoadFiles({empty, good});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->ContextNames(), std::vector<std::string>{"c"});
  EXPECT_FALSE(Kubeconfig::LoadFile(empty).ok());
}

TEST_F(KubeconfigTest, MergeFirstFileWinsPerName) {
  std::string f1 = dir_.Write("one",
                              "clusters: [{name: shared, cluster: {server: 'https://first'}}]\n"
                              "users: [{name: u, user: {token: first}}]\n"
                              "contexts: [{name: c1, context: {cluster: shared, user: u}}]\n");
  std::string f2 = dir_.Write("two",
                              "current-context: c2\n"
                              "clusters: [{name: shared, cluster: {server: 'https://second'}},"
                              " {name: own, cluster: {server: 'https://own'}}]\n"
                              "users: [{name: u, user: {token: second}}]\n"
                              "contexts: [{name: c1, context: {cluster: own, user: u}},"
                              " {name: c2, context: {cluster: own, user: u}}]\n");
  std::string f3 = dir_.Write("three", "current-context: c1\n");
  auto kc = Kubeconfig::LoadFiles({f1, dir_.path() + "/missing", f2, f3});
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  EXPECT_EQ(kc->CurrentContext(), "c2");  // first file that sets it
  auto c1 = kc->ForContext("c1");
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(c1->server, "https://first");
  EXPECT_EQ(c1->bearer_token, "first");
  auto c2 = kc->ForContext("c2");
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->server, "https://own");

  setenv("KUBECONFIG", (f2 + ":" + f1).c_str(), 1);
  auto env = Kubeconfig::LoadFromEnvOrDefault();
  unsetenv("KUBECONFIG");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->ForContext("c1")->server, "https://own");
  EXPECT_FALSE(Kubeconfig::LoadFiles({dir_.path() + "/x", dir_.path() + "/y"}).ok());
}

TEST_F(KubeconfigTest, InClusterConfig) {
  dir_.Write("token", "sa-token\n");
  dir_.Write("ca.crt", certs_.cert_pem);
  auto rc = InClusterConfigFrom("10.0.0.1", "443", dir_.path());
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://10.0.0.1:443");
  EXPECT_EQ(rc->token_file, dir_.path() + "/token");
  EXPECT_EQ(rc->ca_pem, certs_.cert_pem);
  EXPECT_EQ(InClusterConfigFrom("fd00::1", "443", dir_.path())->server, "https://[fd00::1]:443");
  EXPECT_EQ(InClusterConfigFrom("", "", dir_.path()).status().code(), Code::kNotFound);
  EXPECT_FALSE(InClusterConfigFrom("h", "1", dir_.path() + "/none").ok());
}

TEST(Base64Test, StrictDecoding) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_FALSE(DecodeBase64("aGVsbG8").ok());
  EXPECT_FALSE(DecodeBase64("a=GVsbG8").ok());
  EXPECT_FALSE(DecodeBase64("").ok());
  EXPECT_EQ(*DecodeBase64(EncodeBase64(std::string("\0\1\2", 3))), std::string("\0\1\2", 3));
}

}  // namespace
}  // namespace brfed::kube
