#include "runtime/cache.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::runtime {
namespace {

ObjectPtr Obj(const std::string& ns, const std::string& name, const std::string& rv) {
  return std::make_shared<const Json>(
      Json{{"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", rv}}}});
}

TEST(StoreTest, ReplaceEmitsExactDifferences) {
  Cache s;
  auto first = s.Replace({Obj("a", "x", "1"), Obj("a", "y", "2"), Obj("b", "z", "3")});
  EXPECT_EQ(first.size(), 3u);
  auto changes = s.Replace({Obj("a", "x", "1"), Obj("a", "y", "5"), Obj("c", "w", "6")});
  int adds = 0, updates = 0, deletes = 0;
  for (const auto& c : changes) {
    if (!c.old_obj) {
      ++adds;
      EXPECT_EQ(KeyOf(*c.new_obj).String(), "c/w");
    } else if (!c.new_obj) {
      ++deletes;
      EXPECT_EQ(KeyOf(*c.old_obj).String(), "b/z");
    } else {
      ++updates;
      EXPECT_EQ(KeyOf(*c.new_obj).String(), "a/y");
    }
  }
  EXPECT_EQ(adds, 1);
  EXPECT_EQ(updates, 1);
  EXPECT_EQ(deletes, 1);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.ListNamespace("a").size(), 2u);
  EXPECT_EQ(s.ListNamespace("b").size(), 0u);
}

TEST(StoreTest, UpsertAndRemoveReturnPrevious) {
  Cache s;
  EXPECT_EQ(s.Upsert(Obj("n", "a", "1")), nullptr);
  auto old = s.Upsert(Obj("n", "a", "2"));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(JsonStringAt(*old, {"metadata", "resourceVersion"}), "1");
  // Readers keep their snapshot after the store moves on.
  auto snapshot = s.Get({"n", "a"});
  s.Upsert(Obj("n", "a", "3"));
  EXPECT_EQ(JsonStringAt(*snapshot, {"metadata", "resourceVersion"}), "2");
  EXPECT_NE(s.Remove({"n", "a"}), nullptr);
  EXPECT_EQ(s.Remove({"n", "a"}), nullptr);
  EXPECT_EQ(s.Get({"n", "a"}), nullptr);
}

}  // namespace
}  // namespace brfed::runtime
