#include "core/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed {
namespace {

TEST(Json, ParsesAndRejects) {
  auto ok = ParseJson(R"({"a":{"b":[1,2]},"s":"x"})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["a"]["b"][1], 2);
  for (const char* bad : {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1}}"}) {
    auto r = ParseJson(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

TEST(Json, ParseWithoutBuildsTheSameTreeLessTheLeftOutMembers) {
  // Every kind of value, nested containers, duplicate keys (the last wins, as Json::parse),
  // and left-out members that are scalars, empty and nested containers.
  const std::string text = R"({
    "items": [
      {"metadata": {"name": "a", "managedFields": [{"f": {"f:x": {}}}, [1, [2]]], "uid": "u"},
       "spec": {"managedFields": 1, "n": -3, "u": 18446744073709551615, "d": 1.5,
                "b": false, "z": null, "s": "x\"y", "e": {}, "l": []}},
      {"metadata": {"managedFields": null, "labels": {"managedFields": "kept"}}},
      {"metadata": {"managedFields": {}}, "metadata2": {"managedFields": 2}}
    ],
    "metadata": {"managedFields": "root", "resourceVersion": "7", "resourceVersion": "8"},
    "type": "list"
  })";
  auto got = ParseJsonWithout(text, "metadata", "managedFields");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Json want = Json::parse(text);
  for (Json* meta : {&want["metadata"], &want["items"][0]["metadata"],
                     &want["items"][1]["metadata"], &want["items"][2]["metadata"]}) {
    meta->erase("managedFields");
  }
  EXPECT_EQ(*got, want) << got->dump();
  EXPECT_EQ((*got)["items"][0]["spec"]["managedFields"], 1);  // not under metadata
  EXPECT_EQ((*got)["items"][1]["metadata"]["labels"]["managedFields"], "kept");
  EXPECT_EQ((*got)["metadata"]["resourceVersion"], "8");

  auto scalar = ParseJsonWithout("42", "metadata", "managedFields");
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(*scalar, 42);
  for (const char* bad : {"", "{", "{\"metadata\":{\"managedFields\":[}}", "[1,2", "{\"a\":1}}"}) {
    auto r = ParseJsonWithout(bad, "metadata", "managedFields");
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("malformed JSON"), std::string::npos);
  }
}

TEST(Json, PathAccessorsAreNullSafe) {
  Json obj = Json::parse(R"({"spec":{"name":"x","n":3,"flag":true,"list":[1]},"s":"str"})");
  EXPECT_EQ(JsonStringAt(obj, {"spec", "name"}), "x");
  EXPECT_EQ(JsonStringAt(obj, {"spec", "missing"}, "dflt"), "dflt");
  EXPECT_EQ(JsonStringAt(obj, {"s", "deeper"}, "d"), "d");
  EXPECT_EQ(JsonStringAt(obj, {"spec", "n"}, "d"), "d");
  EXPECT_EQ(JsonIntAt(obj, {"spec", "n"}), 3);
  EXPECT_EQ(JsonIntAt(obj, {"spec", "name"}, -1), -1);
  EXPECT_TRUE(JsonBoolAt(obj, {"spec", "flag"}));
  EXPECT_FALSE(JsonBoolAt(obj, {"spec", "list"}));
  EXPECT_EQ(JsonAt(obj, {"spec", "list", "x"}), nullptr);
  EXPECT_EQ(JsonAt(Json(), {"a"}), nullptr);
}

TEST(Yaml, KeepsScalarTypes) {
  auto doc = ParseYaml(R"(
a: 1
b: "1"
c: true
d: 'true'
e: ~
f: 1.5
g: hello
h: [x, 2]
i: -7
j: 12345678901234567890123
k: 1e3
l: 0x1F
)");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const Json& j = *doc;
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], "1");
  EXPECT_EQ(j["c"], true);
  EXPECT_EQ(j["d"], "true");
  EXPECT_TRUE(j["e"].is_null());
  EXPECT_DOUBLE_EQ(j["f"].get<double>(), 1.5);
  EXPECT_EQ(j["g"], "hello");
  EXPECT_EQ(j["h"][1], 2);
  EXPECT_EQ(j["i"], -7);
  EXPECT_EQ(j["j"], "12345678901234567890123");
  EXPECT_DOUBLE_EQ(j["k"].get<double>(), 1000.0);
  EXPECT_EQ(j["l"], "0x1F");
}

TEST(Yaml, MultiDocumentAndErrors) {
  auto docs = ParseYamlDocuments("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[1]["b"], 2);
  for (const char* bad : {"a: [1, 2", "a: b: c", "{x", "a: \"unterminated"}) {
    auto r = ParseYaml(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(Patch, MergePatchRemovesNullsAndKeepsUnknownFields) {
  Json target = Json::parse(R"({"spec":{"a":1,"b":2,"unknown":{"x":1}},"status":{}})");
  Json out = ApplyMergePatch(target, Json::parse(R"({"spec":{"a":5,"b":null}})"));
  EXPECT_EQ(out["spec"]["a"], 5);
  EXPECT_FALSE(out["spec"].contains("b"));
  EXPECT_EQ(out["spec"]["unknown"]["x"], 1);
}

TEST(Patch, JsonPatchTestOpGuards) {
  Json target = Json::parse(R"({"metadata":{"finalizers":["a"]}})");
  auto ok =
      ApplyJsonPatch(target, Json::parse(
                                 R"([{"op":"test","path":"/metadata/finalizers/0","value":"a"},
          {"op":"remove","path":"/metadata/finalizers/0"}])"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)["metadata"]["finalizers"].empty());
  auto fail = ApplyJsonPatch(
      target, Json::parse(R"([{"op":"test","path":"/metadata/finalizers/0","value":"b"}])"));
  EXPECT_EQ(fail.status().code(), Code::kInvalid);
  EXPECT_FALSE(ApplyJsonPatch(target, Json::object()).ok());
  EXPECT_FALSE(ApplyJsonPatch(target, Json::parse(R"([{"op":"bogus","path":"/x"}])")).ok());
}

TEST(Patch, CreateMergePatchRoundTrips) {
  Json from = Json::parse(R"({"a":1,"b":{"c":2,"d":3},"e":[1]})");
  Json to = Json::parse(R"({"a":1,"b":{"c":5},"e":[2],"f":"new"})");
  Json patch = CreateMergePatch(from, to);
  EXPECT_FALSE(patch.contains("a"));
  EXPECT_EQ(ApplyMergePatch(from, patch), to);
}

}  // namespace
}  // namespace brfed
