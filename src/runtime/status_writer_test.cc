#include "runtime/status_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/resource.h"
#include "kube/testing/unused_client.h"

namespace brfed::runtime {
namespace {

// Answers discovery with `discovery` (or an error) and records every Patch as "<sub>" ("" for
// the object); a patch of /status answers `status_patch`.
class DiscoveryClient final : public kube::testing::UnusedClient {
 public:
  DiscoveryClient() : UnusedClient("control") {}
  Result<Json> discovery = Status(Code::kInternal, "no discovery");
  Status status_patch;
  std::vector<std::string> patches;
  int discoveries = 0;

  Result<Json> Patch(const kube::Resource&, std::string_view, std::string_view, kube::PatchType,
                     const Json& patch, std::string_view subresource) override {
    patches.push_back(std::string(subresource));
    if (subresource == "status" && !status_patch.ok()) return status_patch;
    return patch;
  }
  Result<Json> Request(std::string_view method, std::string_view path, const Json*) override {
    ++discoveries;
    EXPECT_EQ(method, "GET");
    EXPECT_EQ(path, "/apis/federation.pingcap.com/v1alpha1");
    return discovery;
  }
};

Json DiscoveryListing(bool status_subresource) {
  Json resources = Json::array({{{"name", "volumebackups"}}});
  if (status_subresource) resources.push_back({{"name", "volumebackups/status"}});
  return {{"kind", "APIResourceList"}, {"resources", resources}};
}

const Json kPatch = {{"metadata", {{"resourceVersion", "7"}}}, {"status", {{"phase", "Running"}}}};

TEST(StatusWriterTest, DiscoveredSubresourceGetsTheStatusOnceDiscovered) {
  auto client = std::make_shared<DiscoveryClient>();
  client->discovery = DiscoveryListing(true);
  StatusWriter writer(client);
  const auto& vb = kube::resources::VolumeBackup();
  ASSERT_TRUE(writer.Patch(vb, "ns", "a", kPatch).ok());
  ASSERT_TRUE(writer.Patch(vb, "ns", "b", kPatch).ok());
  EXPECT_EQ(client->patches, (std::vector<std::string>{"status", "status"}));
  EXPECT_EQ(client->discoveries, 1);
  EXPECT_EQ(writer.TargetOf(vb), StatusWriter::Target::kSubresource);
  // After a discovered subresource, 404 means the object is gone: no fallback.
  client->status_patch = Status(Code::kNotFound, "gone");
  EXPECT_EQ(writer.Patch(vb, "ns", "c", kPatch).status().code(), Code::kNotFound);
  EXPECT_EQ(client->patches.size(), 3u);
}

TEST(StatusWriterTest, NoSubresourceInDiscoveryWritesTheObject) {
  auto client = std::make_shared<DiscoveryClient>();
  client->discovery = DiscoveryListing(false);
  StatusWriter writer(client);
  ASSERT_TRUE(writer.Patch(kube::resources::VolumeBackup(), "ns", "a", kPatch).ok());
  EXPECT_EQ(client->patches, (std::vector<std::string>{""}));
}

TEST(StatusWriterTest, ForbiddenOrMissingStatusFallsBackOnceWithoutLooping) {
  for (Code code : {Code::kForbidden, Code::kNotFound}) {
    auto client = std::make_shared<DiscoveryClient>();  // discovery fails: unknown
    client->status_patch = Status(code, "no");
    StatusWriter writer(client);
    const auto& vb = kube::resources::VolumeBackup();
    ASSERT_TRUE(writer.Patch(vb, "ns", "a", kPatch).ok());
    ASSERT_TRUE(writer.Patch(vb, "ns", "a", kPatch).ok());
    ASSERT_TRUE(writer.Patch(vb, "ns", "a", kPatch).ok());
    // One try of /status, then the object for good.
    EXPECT_EQ(client->patches, (std::vector<std::string>{"status", "", "", ""}));
    EXPECT_EQ(writer.TargetOf(vb), StatusWriter::Target::kObject);
  }
}

TEST(StatusWriterTest, ForbiddenAfterDiscoveryAlsoFallsBack) {
  auto client = std::make_shared<DiscoveryClient>();
  client->discovery = DiscoveryListing(true);
  client->status_patch = Status(Code::kForbidden, "no RBAC for volumebackups/status");
  StatusWriter writer(client);
  const auto& vb = kube::resources::VolumeBackup();
  ASSERT_TRUE(writer.Patch(vb, "ns", "a", kPatch).ok());
  ASSERT_TRUE(writer.Patch(vb, "ns", "a", kPatch).ok());
  EXPECT_EQ(client->patches, (std::vector<std::string>{"status", "", ""}));
}

TEST(StatusWriterTest, OtherErrorsAreReturnedAsTheyAre) {
  auto client = std::make_shared<DiscoveryClient>();
  client->status_patch = Status(Code::kConflict, "stale");
  StatusWriter writer(client);
  EXPECT_EQ(writer.Patch(kube::resources::VolumeBackup(), "ns", "a", kPatch).status().code(),
            Code::kConflict);
  EXPECT_EQ(client->patches.size(), 1u);
}

}  // namespace
}  // namespace brfed::runtime
