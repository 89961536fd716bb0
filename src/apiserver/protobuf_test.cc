#include "apiserver/protobuf.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

std::string Field(int number, const std::string& payload) {
  std::string out;
  out += static_cast<char>((number << 3) | 2);
  out += static_cast<char>(payload.size());
  return out + payload;
}

TEST(ProtobufTest, DecodesNamespaceAsKubectlSendsIt) {
  // As captured from `kubectl create namespace ns9` (kubectl 1.32).
  std::string meta = Field(1, "ns9") + Field(2, "") + Field(3, "");
  std::string ns = Field(1, meta) + Field(2, "") + Field(3, Field(1, ""));
  std::string body = std::string("k8s\0", 4) + Field(1, Field(1, "v1") + Field(2, "Namespace")) +
                     Field(2, ns) + Field(3, "") + Field(4, "");
  Result<Json> obj = DecodeKubernetesProtobuf(body);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ((*obj)["kind"], "Namespace");
  EXPECT_EQ((*obj)["metadata"]["name"], "ns9");
}

TEST(ProtobufTest, DecodesSecretData) {
  std::string meta = Field(1, "s") + Field(3, "ns1");
  std::string secret = Field(1, meta) + Field(2, Field(1, "a") + Field(2, "b")) + Field(3, "");
  std::string body =
      std::string("k8s\0", 4) + Field(1, Field(1, "v1") + Field(2, "Secret")) + Field(2, secret);
  Result<Json> obj = DecodeKubernetesProtobuf(body);
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ((*obj)["data"]["a"], "Yg==");
  EXPECT_FALSE(obj->contains("type"));
}

TEST(ProtobufTest, RejectsTruncatedAndForeignBodies) {
  EXPECT_EQ(DecodeKubernetesProtobuf("nope").status().http_status(), 400);
  std::string body = std::string("k8s\0", 4) + "\x0a\x40";
  EXPECT_EQ(DecodeKubernetesProtobuf(body).status().http_status(), 400);
  std::string pod = std::string("k8s\0", 4) + Field(1, Field(1, "v1") + Field(2, "Pod"));
  EXPECT_EQ(DecodeKubernetesProtobuf(pod).status().http_status(), 415);
}

}  // namespace
}  // namespace brfed::apiserver
