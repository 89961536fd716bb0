#include "core/object_ref.h"

#include <gtest/gtest.h>

namespace brfed {
namespace {

TEST(ObjectKey, StringAndParse) {
  ObjectKey k{"ns", "name"};
  EXPECT_EQ(k.String(), "ns/name");
  EXPECT_EQ(ObjectKey::Parse("ns/name"), k);
  EXPECT_EQ(ObjectKey::Parse("cluster-scoped"), (ObjectKey{"", "cluster-scoped"}));
  EXPECT_EQ((ClusterObjectKey{"c1", k}).String(), "c1:ns/name");
}

TEST(Names, DnsRules) {
  EXPECT_EQ(ValidateDnsLabel("abc-1"), "");
  EXPECT_EQ(ValidateDnsSubdomain("a.b-c"), "");
  EXPECT_NE(ValidateDnsLabel(""), "");
  EXPECT_NE(ValidateDnsLabel("a.b"), "");
  EXPECT_NE(ValidateDnsLabel("-a"), "");
  EXPECT_NE(ValidateDnsLabel("a-"), "");
  EXPECT_NE(ValidateDnsLabel("Abc"), "");
  EXPECT_NE(ValidateDnsLabel(std::string(64, 'a')), "");
  EXPECT_EQ(ValidateDnsLabel(std::string(63, 'a')), "");
  EXPECT_NE(ValidateDnsSubdomain(std::string(254, 'a')), "");
  EXPECT_NE(ValidateDnsSubdomain("a_b"), "");
  // Each dot-separated part is a label, as kube-apiserver's regex has it.
  for (const char* bad : {"a..b", "a.-b", ".a", "a."})
    EXPECT_NE(ValidateDnsSubdomain(bad), "") << bad;
  EXPECT_TRUE(IsDns1123("a.b-c", true));
  EXPECT_FALSE(IsDns1123("a.b", false));
  // A huge name is quoted as an excerpt.
  EXPECT_LT(ValidateDnsLabel(std::string(100000, '_')).size(), 400u);
}

TEST(Names, LabelRules) {
  for (const char* ok : {"app", "App_1.x", "tidb.pingcap.com/backup-schedule", "a/b"}) {
    EXPECT_EQ(ValidateLabelKey(ok), "") << ok;
  }
  for (const char* bad : {"", "/x", "a/", "-a", "a=b", "Bad_Prefix/x", "a/b/c", "a b"}) {
    EXPECT_NE(ValidateLabelKey(bad), "") << bad;
  }
  EXPECT_NE(ValidateLabelKey(std::string(64, 'k')), "");
  for (const char* ok : {"", "v", "V-1_2.3"}) EXPECT_EQ(ValidateLabelValue(ok), "") << ok;
  for (const char* bad : {"v=w", "-v", "v.", "a b", "é"}) {
    EXPECT_NE(ValidateLabelValue(bad), "") << bad;
  }
  EXPECT_NE(ValidateLabelValue(std::string(64, 'v')), "");
}

}  // namespace
}  // namespace brfed
