#include "federation/schedule_kube_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/testing/unused_client.h"

namespace brfed::federation {
namespace {

// Records calls; answers Patch on the status subresource with `status_patch_result`.
class RecordingClient final : public kube::testing::UnusedClient {
 public:
  RecordingClient() : UnusedClient("control", Code::kNotFound) {}
  std::vector<std::string> calls;
  Status status_patch_result;

  Result<Json> Create(const kube::Resource& r, std::string_view ns, const Json& obj) override {
    calls.push_back("create " + r.plural + " " + std::string(ns) + "/" +
                    obj["metadata"]["name"].get<std::string>());
    Json created = obj;
    created["metadata"]["resourceVersion"] = "7";
    return created;
  }
  Result<Json> Patch(const kube::Resource& r, std::string_view ns, std::string_view name,
                     kube::PatchType type, const Json& patch,
                     std::string_view subresource) override {
    calls.push_back("patch " + r.plural + " " + std::string(ns) + "/" + std::string(name) + " " +
                    std::string(subresource) + " " + DumpJson(patch) +
                    (type == kube::PatchType::kMerge ? " merge" : " other"));
    if (subresource == "status" && !status_patch_result.ok()) return status_patch_result;
    return Json::object();
  }
  Status Delete(const kube::Resource& r, std::string_view ns, std::string_view name,
                const kube::DeleteOptions&) override {
    calls.push_back("delete " + r.plural + " " + std::string(ns) + "/" + std::string(name));
    return Status::Ok();
  }
};

TEST(KubeScheduleWriterTest, WritesTheFederationResources) {
  auto client = std::make_shared<RecordingClient>();
  KubeScheduleWriter writer(client);
  Json vb = {{"metadata", {{"name", "s-1"}, {"namespace", "ns"}}}};
  Result<std::string> created = writer.CreateVolumeBackup(vb);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(*created, "7") << "the new backup's resourceVersion";
  EXPECT_TRUE(writer.DeleteVolumeBackup("ns", "s-0").ok());
  EXPECT_TRUE(
      writer.PatchScheduleStatus("ns", "s", Json{{"status", {{"lastBackup", "s-1"}}}}).ok());
  EXPECT_EQ(client->calls, (std::vector<std::string>{
                               "create volumebackups ns/s-1",
                               "delete volumebackups ns/s-0",
                               "patch volumebackupschedules ns/s status "
                               "{\"status\":{\"lastBackup\":\"s-1\"}} merge",
                           }));
}

TEST(KubeScheduleWriterTest, FallsBackToTheObjectWithoutAStatusSubresource) {
  auto client = std::make_shared<RecordingClient>();
  client->status_patch_result = NotFoundError("the server could not find the requested resource");
  KubeScheduleWriter writer(client);
  EXPECT_TRUE(writer.PatchScheduleStatus("ns", "s", Json{{"status", Json::object()}}).ok());
  ASSERT_EQ(client->calls.size(), 2u);
  EXPECT_EQ(client->calls[1], "patch volumebackupschedules ns/s  {\"status\":{}} merge");
  // The object it is from now on: no second 404.
  EXPECT_TRUE(writer.PatchScheduleStatus("ns", "s", Json{{"status", Json::object()}}).ok());
  EXPECT_EQ(client->calls.size(), 3u);
  // Other errors are returned as they are (a writer that has not learnt anything yet).
  client->status_patch_result = Status(Code::kConflict, "stale");
  KubeScheduleWriter fresh(client);
  EXPECT_EQ(fresh.PatchScheduleStatus("ns", "s", Json::object()).code(), Code::kConflict);
}

}  // namespace
}  // namespace brfed::federation
