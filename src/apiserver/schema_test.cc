#include "apiserver/schema.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

const Json kSchema = Json::parse(R"({"type": "object", "properties": {
  "spec": {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
    "count": {"type": "integer", "minimum": 1, "maximum": 3, "default": 1},
    "note": {"type": "string", "nullable": true},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}})");

TEST(SchemaTest, DefaultsAndPrunes) {
  Json obj = {{"apiVersion", "v"},
              {"metadata", {{"x", 1}}},
              {"junk", 1},
              {"spec", {{"unknown", 1}, {"free", {{"anything", {{"goes", 1}}}}}}}};
  DefaultAndPrune(kSchema, obj);
  EXPECT_FALSE(obj.contains("junk"));
  EXPECT_TRUE(obj.contains("metadata"));
  EXPECT_FALSE(obj["spec"].contains("unknown"));
  EXPECT_EQ(obj["spec"]["count"], 1);
  EXPECT_EQ(obj["spec"]["free"]["anything"]["goes"], 1);
}

TEST(SchemaTest, ReportsEachViolationWithItsField) {
  Json obj = {{"spec", {{"name", "TOOLONGX"}, {"count", 7}, {"note", nullptr}}}};
  std::vector<FieldError> errors = ValidateAgainstSchema(kSchema, obj);
  std::vector<std::string> fields;
  for (const FieldError& e : errors) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"spec.count", "spec.name", "spec.name"}));
  obj = {{"spec", {{"count", "two"}}}};
  errors = ValidateAgainstSchema(kSchema, obj);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "FieldValueTypeInvalid");
}

// As kube-apiserver's check of a float64 decoded from the request: no fraction, an integer.
TEST(SchemaTest, AFloatWithNoFractionIsAnInteger) {
  EXPECT_TRUE(ValidateAgainstSchema(kSchema, Json::parse(R"({"spec": {"count": 2.0}})")).empty());
  EXPECT_TRUE(ValidateAgainstSchema(kSchema, Json::parse(R"({"spec": {"count": 2e0}})")).empty());
  std::vector<FieldError> errors =
      ValidateAgainstSchema(kSchema, Json::parse(R"({"spec": {"count": 2.5}})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "FieldValueTypeInvalid");
  EXPECT_FALSE(IsKubeInteger(Json::parse("1e300")));
  EXPECT_FALSE(IsKubeInteger(Json("2")));
  EXPECT_TRUE(IsKubeInteger(Json(-3)));
}

}  // namespace
}  // namespace brfed::apiserver
