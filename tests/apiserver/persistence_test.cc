// --data-dir: acknowledged writes survive kill -9 with their resourceVersions; a torn journal
// tail is dropped, never loaded.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/apiserver/api_util.h"
#include "tests/harness/harness.h"

namespace brfed::testing {
namespace {

using nlohmann::json;

class PersistenceTest : public ::testing::Test {
 protected:
  ApiServer Start() {
    Result<ApiServer> s =
        StartApiServer({.dir = dir_.path(), .name = "persist", .data_dir = dir_.File("data")});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : ApiServer{};
  }
  TempDir dir_;
};

TEST_F(PersistenceTest, AcknowledgedWritesSurviveKill9) {
  std::map<std::string, std::string> rvs;
  {
    ApiServer s = Start();
    ASSERT_TRUE(s.process);
    HttpClient c = s.Client();
    ASSERT_EQ(CreateNamespace(c, "p").status, 201);
    for (int i = 0; i < 5; ++i) {
      HttpResponse r = CreateConfigMap(c, "p", "cm" + std::to_string(i));
      ASSERT_EQ(r.status, 201);
      rvs["cm" + std::to_string(i)] = Rv(r);
    }
    HttpResponse patched = c.Request("PATCH", "/api/v1/namespaces/p/configmaps/cm0",
                                     R"({"data":{"k":"changed"}})", "application/merge-patch+json");
    ASSERT_EQ(patched.status, 200);
    rvs["cm0"] = Rv(patched);
    ASSERT_EQ(c.Request("DELETE", "/api/v1/namespaces/p/configmaps/cm4").status, 200);
    s.process->Kill();
    ASSERT_TRUE(s.process->Wait(10s).ok());
  }
  ApiServer s = Start();
  ASSERT_TRUE(s.process);
  HttpClient c = s.Client();
  for (int i = 0; i < 4; ++i) {
    std::string name = "cm" + std::to_string(i);
    HttpResponse r = c.Request("GET", "/api/v1/namespaces/p/configmaps/" + name);
    ASSERT_EQ(r.status, 200) << name;
    EXPECT_EQ(Rv(r), rvs[name]) << name;
  }
  EXPECT_EQ(json::parse(c.Request("GET", "/api/v1/namespaces/p/configmaps/cm0").body)["data"]["k"],
            "changed");
  EXPECT_EQ(c.Request("GET", "/api/v1/namespaces/p/configmaps/cm4").status, 404);
  // New writes continue the resourceVersion sequence.
  HttpResponse next = CreateConfigMap(c, "p", "after");
  ASSERT_EQ(next.status, 201);
  EXPECT_GT(std::stoull(Rv(next)), std::stoull(rvs["cm0"]));
}

TEST_F(PersistenceTest, TornTailIsDropped) {
  {
    ApiServer s = Start();
    ASSERT_TRUE(s.process);
    HttpClient c = s.Client();
    ASSERT_EQ(CreateNamespace(c, "t").status, 201);
    ASSERT_EQ(CreateConfigMap(c, "t", "kept").status, 201);
    ASSERT_EQ(CreateConfigMap(c, "t", "torn").status, 201);
    s.process->Kill();
    ASSERT_TRUE(s.process->Wait(10s).ok());
  }
  std::string journal = dir_.File("data") + "/journal.log";
  std::filesystem::resize_file(journal, std::filesystem::file_size(journal) - 5);
  ApiServer s = Start();
  ASSERT_TRUE(s.process);
  HttpClient c = s.Client();
  EXPECT_EQ(c.Request("GET", "/api/v1/namespaces/t/configmaps/kept").status, 200);
  EXPECT_EQ(c.Request("GET", "/api/v1/namespaces/t/configmaps/torn").status, 404);
  EXPECT_EQ(CreateConfigMap(c, "t", "torn").status, 201);
  EXPECT_NE(ReadFile(s.stderr_path).find("torn"), std::string::npos);
}

}  // namespace
}  // namespace brfed::testing
