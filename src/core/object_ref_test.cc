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
}

}  // namespace
}  // namespace brfed
