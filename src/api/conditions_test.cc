#include "api/conditions.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::api {
namespace {

const Time kT0 = Time(std::chrono::seconds(1700000000));
const Time kT1 = kT0 + std::chrono::seconds(60);

TEST(ConditionsTest, SetAppendsAndSetsPhase) {
  Json status;
  EXPECT_TRUE(SetCondition(status, {"Running", "True", "", ""}, kT0));
  EXPECT_EQ(status["phase"], "Running");
  ASSERT_EQ(status["conditions"].size(), 1u);
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], FormatRfc3339(kT0));
  EXPECT_TRUE(IsConditionTrue(status, "Running"));
  EXPECT_FALSE(IsConditionTrue(status, "Complete"));
  EXPECT_EQ(ConditionTransitionTime(status, "Running"), kT0);
}

TEST(ConditionsTest, SameConditionTwiceIsNoChange) {
  Json status;
  SetCondition(status, {"Running", "True", "R", "m"}, kT0);
  EXPECT_FALSE(SetCondition(status, {"Running", "True", "R", "m"}, kT1));
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], FormatRfc3339(kT0));
}

TEST(ConditionsTest, MessageChangeKeepsTimeStatusChangeMovesIt) {
  Json status;
  SetCondition(status, {"Invalid", "True", "A", "one"}, kT0);
  EXPECT_TRUE(SetCondition(status, {"Invalid", "True", "A", "two"}, kT1));
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], FormatRfc3339(kT0));
  EXPECT_EQ(ConditionMessage(status, "Invalid"), "two");
  EXPECT_TRUE(SetCondition(status, {"Invalid", "False", "A", "two"}, kT1));
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], FormatRfc3339(kT1));
  EXPECT_FALSE(IsConditionTrue(status, "Invalid"));
}

TEST(ConditionsTest, ReassertingOlderConditionMovesPhaseBack) {
  Json status;
  SetCondition(status, {"Running", "True", "", ""}, kT0);
  SetCondition(status, {"Complete", "True", "", ""}, kT0);
  EXPECT_TRUE(SetCondition(status, {"Running", "True", "", ""}, kT1));
  EXPECT_EQ(status["phase"], "Running");
  EXPECT_EQ(status["conditions"].size(), 2u);
}

TEST(ConditionsTest, UnknownFieldsOfAConditionSurvive) {
  Json status = {{"conditions", {{{"type", "Running"}, {"status", "True"}, {"extra", 1}}}}};
  SetCondition(status, {"Running", "True", "r", ""}, kT0);
  EXPECT_EQ(status["conditions"][0]["extra"], 1);
}

TEST(ConditionsTest, MalformedStatusIsTolerated) {
  EXPECT_EQ(FindCondition(Json("x"), "Running"), nullptr);
  EXPECT_EQ(FindCondition(Json{{"conditions", 3}}, "Running"), nullptr);
  EXPECT_FALSE(ConditionTransitionTime(
                   Json{{"conditions", {{{"type", "A"}, {"lastTransitionTime", "junk"}}}}}, "A")
                   .has_value());
  Json status = "not an object";
  EXPECT_TRUE(SetCondition(status, {"Running", "True", "", ""}, kT0));
  EXPECT_TRUE(status.is_object());
  EXPECT_TRUE(StatusOf(Json::object()).is_null());
}

}  // namespace
}  // namespace brfed::api
