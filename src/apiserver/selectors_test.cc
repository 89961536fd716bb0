#include "apiserver/selectors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

Json Obj(Json labels) {
  return {{"metadata", {{"name", "x"}, {"namespace", "n"}, {"labels", labels}}}};
}

TEST(LabelSelectorTest, EqualitySetAndExistence) {
  Json o = Obj({{"app", "demo"}, {"tier", "db"}});
  EXPECT_TRUE(LabelSelector::Parse("app=demo")->Matches(o));
  EXPECT_TRUE(LabelSelector::Parse("app==demo,tier")->Matches(o));
  EXPECT_FALSE(LabelSelector::Parse("app!=demo")->Matches(o));
  EXPECT_TRUE(LabelSelector::Parse("tier in (db, web)")->Matches(o));
  EXPECT_FALSE(LabelSelector::Parse("tier notin (db)")->Matches(o));
  EXPECT_TRUE(LabelSelector::Parse("!missing")->Matches(o));
  EXPECT_FALSE(LabelSelector::Parse("missing")->Matches(o));
}

TEST(LabelSelectorTest, RejectsGarbage) {
  EXPECT_EQ(LabelSelector::Parse("a in b").status().http_status(), 400);
  EXPECT_EQ(LabelSelector::Parse("=x").status().http_status(), 400);
  EXPECT_EQ(LabelSelector::Parse("a=b c").status().http_status(), 400);
}

TEST(FieldSelectorTest, NameNamespaceAndEventFields) {
  Json o = Obj(Json::object());
  EXPECT_TRUE(FieldSelector::Parse("metadata.name=x,metadata.namespace=n", "Pod")->Matches(o));
  EXPECT_FALSE(FieldSelector::Parse("metadata.name!=x", "Pod")->Matches(o));
  EXPECT_EQ(FieldSelector::Parse("spec.foo=x", "Pod").status().http_status(), 400);
  Json ev = {{"involvedObject", {{"name", "v"}, {"kind", "VolumeBackup"}}}};
  EXPECT_TRUE(
      FieldSelector::Parse("involvedObject.kind=VolumeBackup,involvedObject.name=v", "Event")
          ->Matches(ev));
}

}  // namespace
}  // namespace brfed::apiserver
