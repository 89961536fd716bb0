#include "kube/kubeconfig_merge.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/kubeconfig.h"

namespace brfed::kube {
namespace {

std::string KubeconfigText(const std::string& name, const std::string& server) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: " + name +
         "\n  cluster:\n    server: " + server + "\ncontexts:\n- name: " + name +
         "\n  context:\n    cluster: " + name + "\n    user: " + name +
         "\ncurrent-context: " + name + "\nusers:\n- name: " + name + "\n  user:\n    token: t-" +
         name + "\n";
}

TEST(MergeKubeconfigs, OneContextPerDataPlane) {
  Result<Json> merged = MergeKubeconfigs(
      {KubeconfigText("dp-1", "http://127.0.0.1:1"), KubeconfigText("dp-2", "http://127.0.0.1:2")});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  const std::string yaml = DumpJson(*merged);  // JSON is YAML
  Result<Kubeconfig> kc = Kubeconfig::Parse(yaml, "merged");
  ASSERT_TRUE(kc.ok()) << kc.status().ToString() << "\n" << yaml;
  EXPECT_EQ(kc->ContextNames(), (std::vector<std::string>{"dp-1", "dp-2"}));
  Result<RestConfig> dp2 = kc->ForContext("dp-2");
  ASSERT_TRUE(dp2.ok());
  EXPECT_EQ(dp2->server, "http://127.0.0.1:2");
  EXPECT_EQ(dp2->bearer_token, "t-dp-2");
  EXPECT_EQ(JsonStringAt(*merged, {"current-context"}), "dp-1");
  EXPECT_FALSE(MergeKubeconfigs({"{not yaml"}).ok());
}

}  // namespace
}  // namespace brfed::kube
