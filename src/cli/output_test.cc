#include "cli/output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::cli {
namespace {

TEST(ToYaml, RoundTripsThroughTheYamlParser) {
  const Json v = Json::parse(
      R"({"metadata": {"name": "b1", "labels": {"a": "true"}}, "spec": {"n": 3, "ok": true,
          "list": ["12", "x", ""], "none": null}})");
  const std::string yaml = ToYaml(v);
  Result<Json> back = ParseYaml(yaml);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(*back, v) << yaml;
}

TEST(ParseOutputFormat, AcceptsKubectlNamesAndExplainsOthers) {
  EXPECT_EQ(*ParseOutputFormat("yaml"), OutputFormat::kYaml);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  Result<OutputFormat> bad = ParseOutputFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("-o yaml"), std::string::npos);
}

TEST(MakeList, WrapsItems) {
  Json list = MakeList({Json{{"a", 1}}});
  EXPECT_EQ(list["kind"], "List");
  EXPECT_EQ(list["items"].size(), 1u);
}

}  // namespace
}  // namespace brfed::cli
