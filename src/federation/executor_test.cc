#include "federation/executor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/testing/fake_client.h"

namespace brfed::federation {
namespace {

using std::chrono::milliseconds;

// One control-plane VolumeBackup in a fake API server, an executor with WritePacing, and the
// status writes a decision would hand it.
class PacedExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Json vb = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
               {"kind", "VolumeBackup"},
               {"metadata", {{"name", "vb"}, {"namespace", "ns"}}}};
    auto created = client_->Create(kube::resources::VolumeBackup(), "ns", vb);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    rv_ = JsonStringAt(*created, {"metadata", "resourceVersion"});
  }

  Write StatusWrite(Json status, bool may_wait) const {
    Write w;
    w.verb = Write::Verb::kPatchStatus;
    w.resource = &kube::resources::VolumeBackup();
    w.ns = "ns";
    w.name = "vb";
    w.may_wait = may_wait;
    w.body = std::make_shared<Json>(
        Json{{"metadata", {{"resourceVersion", Current()}}}, {"status", std::move(status)}});
    return w;
  }
  std::string Current() const {
    auto got = client_->Get(kube::resources::VolumeBackup(), "ns", "vb");
    return got.ok() ? JsonStringAt(*got, {"metadata", "resourceVersion"}) : "";
  }
  std::string Id() const { return ObjectIdOf("", kube::resources::VolumeBackup(), "ns", "vb"); }

  FakeClock clock_;
  std::shared_ptr<kube::FakeClient> client_ = std::make_shared<kube::FakeClient>("control");
  runtime::StatusWriter status_writer_{client_};
  runtime::WriteExpectations expectations_{&clock_};
  runtime::StatusBatcher batcher_{&clock_, milliseconds(200)};
  Executor executor_{[this](const std::string&) { return client_; },
                     &status_writer_,
                     {},
                     WritePacing{&expectations_, &batcher_}};
  std::string rv_;
};

TEST_F(PacedExecutorTest, MirrorOnlyStatusWaitsForTheWindowAndTransitionsDoNot) {
  const int patches = client_->Calls("PATCH");
  // A change that may wait is held: nothing written, decide again at the window's end.
  ExecuteResult held = executor_.Execute("ns/vb", {StatusWrite({{"backups", 1}}, true)});
  EXPECT_TRUE(held.ok());
  ASSERT_TRUE(held.held_for.has_value());
  EXPECT_EQ(*held.held_for, milliseconds(200));
  EXPECT_EQ(client_->Calls("PATCH"), patches);
  // Still inside the window: held again, for what is left of it.
  clock_.Advance(milliseconds(150));
  held = executor_.Execute("ns/vb", {StatusWrite({{"backups", 2}}, true)});
  ASSERT_TRUE(held.held_for.has_value());
  EXPECT_EQ(*held.held_for, milliseconds(50));
  // A transition is written at once, and closes the window.
  ExecuteResult now = executor_.Execute("ns/vb", {StatusWrite({{"phase", "Running"}}, false)});
  EXPECT_TRUE(now.ok());
  EXPECT_FALSE(now.held_for.has_value());
  EXPECT_EQ(client_->Calls("PATCH"), patches + 1);
  // The next mirror change opens a new window; after it, the write is made.
  EXPECT_TRUE(executor_.Execute("ns/vb", {StatusWrite({{"backups", 3}}, true)}).held_for);
  clock_.Advance(milliseconds(200));
  now = executor_.Execute("ns/vb", {StatusWrite({{"backups", 3}}, true)});
  EXPECT_FALSE(now.held_for.has_value());
  EXPECT_EQ(client_->Calls("PATCH"), patches + 2);
  auto vb = client_->Get(kube::resources::VolumeBackup(), "ns", "vb");
  ASSERT_TRUE(vb.ok());
  EXPECT_EQ((*vb)["status"], Json({{"phase", "Running"}, {"backups", 3}}));
}

TEST_F(PacedExecutorTest, EveryWriteIsExpectedUntilTheCacheShowsIt) {
  ASSERT_TRUE(executor_.Execute("ns/vb", {StatusWrite({{"phase", "Running"}}, false)}).ok());
  const std::string written = Current();
  ASSERT_NE(written, rv_);
  // A cache still holding the object as it was before our write waits; one that shows it not.
  EXPECT_TRUE(expectations_.Pending(Id(), rv_).has_value());
  EXPECT_FALSE(expectations_.Pending(Id(), written).has_value());
  // A held write expects nothing.
  ASSERT_TRUE(executor_.Execute("ns/vb", {StatusWrite({{"backups", 1}}, true)}).held_for);
  EXPECT_FALSE(expectations_.Pending(Id(), rv_).has_value());
  // A delete forgets what an earlier write expected.
  ASSERT_TRUE(executor_.Execute("ns/vb", {StatusWrite({{"phase", "Complete"}}, false)}).ok());
  Write del;
  del.verb = Write::Verb::kDelete;
  del.resource = &kube::resources::VolumeBackup();
  del.ns = "ns";
  del.name = "vb";
  ASSERT_TRUE(executor_.Execute("ns/vb", {del}).ok());
  EXPECT_FALSE(expectations_.Pending(Id(), "").has_value());
}

}  // namespace
}  // namespace brfed::federation
