#include "apiserver/table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

TEST(TableTest, HumanDurationMatchesKubectl) {
  using std::chrono::seconds;
  EXPECT_EQ(HumanDuration(seconds(5)), "5s");
  EXPECT_EQ(HumanDuration(seconds(200)), "3m20s");
  EXPECT_EQ(HumanDuration(seconds(3600 * 5)), "5h");
  EXPECT_EQ(HumanDuration(seconds(3600 * 24 * 12)), "12d");
}

TEST(TableTest, JsonPathWithFilter) {
  Json o = Json::parse(R"({"status": {"conditions": [{"type": "A", "status": "False"},
                                                      {"type": "Ready", "status": "True"}]}})");
  const Json* v = EvalJsonPath(o, R"(.status.conditions[?(@.type=="Ready")].status)");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "True");
  EXPECT_EQ(*EvalJsonPath(o, ".status.conditions[0].type"), "A");
  EXPECT_EQ(EvalJsonPath(o, ".status.missing"), nullptr);
}

TEST(TableTest, RendersPrinterColumnsAndAge) {
  ResourceInfo r;
  r.custom = true;
  r.kind = "Widget";
  r.columns = {{"Phase", "string", "", "", ".status.phase", 0},
               {"Age", "date", "", "", ".metadata.creationTimestamp", 0}};
  Json obj = {{"metadata", {{"name", "w"}, {"creationTimestamp", "2024-01-01T00:00:00Z"}}},
              {"status", {{"phase", "Running"}}}};
  Result<Time> now = ParseRfc3339("2024-01-01T00:05:00Z");
  Json t = RenderTable(r, {obj}, "7", *now);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["rows"][0]["cells"], Json::parse(R"(["w", "Running", "5m"])"));
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["name"], "w");
  EXPECT_EQ(t["metadata"]["resourceVersion"], "7");
}

}  // namespace
}  // namespace brfed::apiserver
