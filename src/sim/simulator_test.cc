#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace brfed::sim {
namespace {

// A kubeconfig file with one context, in a fresh temporary folder.
class KubeconfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("brfed-sim-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "kubeconfig").string();
    std::ofstream(path_) << "apiVersion: v1\nkind: Config\n"
                            "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443', "
                            "insecure-skip-tls-verify: true}}]\n"
                            "users: [{name: u, user: {token: secret}}]\n"
                            "contexts: [{name: dp, context: {cluster: c, user: u}}]\n"
                            "current-context: dp\n";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(KubeconfigFile, ClusterClientHasNoRateLimitAndTheSimulatorsAgent) {
  Result<kube::RestConfig> config = ClusterClientConfig({"dp01", path_, ""});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->context_name, "dp");
  // The default client-go-like bucket (50 QPS) would queue a busy data plane's members.
  EXPECT_LE(config->qps, 0);
  EXPECT_EQ(config->user_agent.rfind("tidb-operator-sim/", 0), 0u) << config->user_agent;
}

TEST_F(KubeconfigFile, ClusterClientErrorsNameTheCluster) {
  Result<kube::RestConfig> missing = ClusterClientConfig({"dp07", path_ + ".absent", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cluster dp07"), std::string::npos)
      << missing.status().message();
  Result<kube::RestConfig> no_context = ClusterClientConfig({"dp08", path_, "nosuch"});
  ASSERT_FALSE(no_context.ok());
  EXPECT_NE(no_context.status().message().find("cluster dp08"), std::string::npos)
      << no_context.status().message();
}

}  // namespace
}  // namespace brfed::sim
