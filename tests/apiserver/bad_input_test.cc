// Bad input gets the right Status error and the server keeps serving; bad flags exit with a
// clear message.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/apiserver/api_util.h"
#include "tests/harness/harness.h"

namespace brfed::testing {
namespace {

using nlohmann::json;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<ApiServer> s = StartApiServer(
        {.dir = dir_.path(),
         .name = "bad",
         .token = "t0k",
         .extra_args = {"--max-body-bytes", "4096", "--audit-log", dir_.File("audit.log")}});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    ASSERT_EQ(CreateNamespace(server_.Client(), "b").status, 201);
  }

  void ExpectStatus(const HttpResponse& r, long code, const std::string& reason) {
    EXPECT_EQ(r.status, code) << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["kind"], "Status");
    EXPECT_EQ(body["reason"], reason) << r.body;
    EXPECT_EQ(body["code"], code);
  }

  TempDir dir_;
  ApiServer server_;
};

TEST_F(BadInputTest, EachBadRequestGetsItsStatusAndServingContinues) {
  HttpClient c = server_.Client();
  const std::string cms = "/api/v1/namespaces/b/configmaps";
  ExpectStatus(c.Request("POST", cms, "{not json"), 400, "BadRequest");
  ExpectStatus(c.Request("POST", cms, "a: [b", "application/yaml"), 400, "BadRequest");
  ExpectStatus(c.Request("GET", "/apis/nope.example.com/v1/things"), 404, "NotFound");
  ExpectStatus(c.Request("GET", "/api/v1/namespaces/b/widgets"), 404, "NotFound");
  ExpectStatus(c.Request("POST", cms, std::string(10000, ' ') + "{}"), 413,
               "RequestEntityTooLarge");
  ExpectStatus(c.Request("POST", cms, "{}", "text/plain"), 415, "UnsupportedMediaType");
  ExpectStatus(c.Request("PATCH", cms + "/x", "{}", "application/xml"), 415,
               "UnsupportedMediaType");
  ExpectStatus(c.Request("GET", cms + "?labelSelector=a%20in%20b"), 400, "BadRequest");
  ExpectStatus(c.Request("GET", cms + "?fieldSelector=spec.x%3Dy"), 400, "BadRequest");
  ExpectStatus(c.Request("GET", cms + "?watch=true&resourceVersion=abc"), 400, "BadRequest");
  ExpectStatus(c.Request("POST", cms, R"({"metadata":{"name":"Bad_Name"}})"), 422, "Invalid");
  ExpectStatus(
      c.Request("POST", "/api/v1/namespaces/missing/configmaps", R"({"metadata":{"name":"x"}})"),
      404, "NotFound");
  ExpectStatus(HttpClient(server_.url).Request("GET", cms), 401, "Unauthorized");

  EXPECT_EQ(c.Request("GET", "/readyz").status, 200);
  EXPECT_EQ(CreateConfigMap(c, "b", "fine").status, 201);
  // Every request is in the audit log, writes with their resourceVersion.
  std::string audit = ReadFile(dir_.File("audit.log"));
  EXPECT_NE(audit.find(R"("verb":"create")"), std::string::npos);
  EXPECT_NE(audit.find(R"("code":415)"), std::string::npos);
}

TEST(BadFlagsTest, ExitWithAClearMessage) {
  TempDir dir;
  std::ofstream(dir.File("not-a-crd.yaml")) << "kind: ConfigMap\n";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"--listen", "nonsense"}, "--listen"},
      {{"--listen", "127.0.0.1:99999"}, "port"},
      {{"--crd", dir.File("missing.yaml")}, "--crd"},
      {{"--crd", dir.File("not-a-crd.yaml")}, "CustomResourceDefinition"},
      {{"--client-ca-file", dir.File("ca.pem")}, "--tls"},
      {{"--watch-history", "0"}, "watch-history"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand({ApiServerBinary(), c.args}, 30s);
    EXPECT_NE(r.exit_code, 0) << c.args[0];
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace brfed::testing
