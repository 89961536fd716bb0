#include "cli/cluster_flag.h"

#include <gtest/gtest.h>

namespace brfed::cli {
namespace {

TEST(ParseClusterFlag, AcceptsContextNamespaceAndCluster) {
  Result<ClusterTarget> t = ParseClusterFlag("dp-1=tidb/basic");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, (ClusterTarget{"dp-1", "tidb", "basic"}));
  // Context names are free-form (they come from kubeconfigs, e.g. EKS ARNs with '/').
  Result<ClusterTarget> arn = ParseClusterFlag("arn:aws:eks:us-west-2:1:cluster/a=ns/tc");
  ASSERT_TRUE(arn.ok()) << arn.status().ToString();
  EXPECT_EQ(arn->k8s_cluster_name, "arn:aws:eks:us-west-2:1:cluster/a");
}

TEST(ParseClusterFlag, RejectsMalformedValuesWithTheExpectedForm) {
  for (const char* bad : {"", "dp-1", "dp-1=basic", "=tidb/basic", "dp-1=/basic", "dp-1=tidb/",
                          "dp-1=Tidb/basic", "dp-1=tidb/basic/x"}) {
    Result<ClusterTarget> t = ParseClusterFlag(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
    EXPECT_NE(t.status().message().find("CONTEXT=NAMESPACE/TIDBCLUSTER"), std::string::npos)
        << t.status().message();
  }
}

TEST(ParseClusterFlags, RejectsTwoTidbClustersInOneDataPlane) {
  EXPECT_TRUE(ParseClusterFlags({"a=ns/tc", "b=ns/tc"}).ok());
  Result<std::vector<ClusterTarget>> dup = ParseClusterFlags({"a=ns/tc", "a=ns/tc2"});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("twice"), std::string::npos);
}

}  // namespace
}  // namespace brfed::cli
