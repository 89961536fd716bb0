#include "federation/executor.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
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

// A data plane whose creates wait (up to a generous deadline) until `expected` creates are in
// flight at once across every such client: sequential writes would each time out.
// A member patch or delete answered NotFound tells on_stale_member_cache (the manager relists that
// cluster's member cache: seed 8012); a delete still counts as done and a patch stops the
// pass. So does a member create answered AlreadyExists (seed 31069: a list from before a
// data plane's empty restart, a watch after it, and the member we created there never seen).
// Control-plane writes and writes the server's state agrees with tell nothing.
TEST(ExecutorTest, AMemberWriteThatContradictsTheCacheReportsAStaleCache) {
  auto dp = std::make_shared<kube::FakeClient>("c1");
  ASSERT_TRUE(dp->Create(kube::resources::Backup(), "ns",
                         Json{{"metadata", {{"name", "present"}, {"namespace", "ns"}}}})
                  .ok());
  std::vector<std::string> told;
  runtime::StatusWriter status_writer(dp);
  WritePacing pacing;
  pacing.on_stale_member_cache = [&](const std::string& cluster, const kube::Resource& resource,
                                     const std::string& why) {
    told.push_back(cluster + " " + resource.plural + ": " + why);
  };
  Executor executor([&](const std::string&) { return dp; }, &status_writer, {}, pacing);
  auto write = [](Write::Verb verb, std::string cluster, std::string name) {
    Write w;
    w.verb = verb;
    w.cluster = std::move(cluster);
    w.resource = &kube::resources::Backup();
    w.ns = "ns";
    w.name = std::move(name);
    w.body = std::make_shared<Json>(Json{{"spec", {{"cleanPolicy", "OnFailure"}}}});
    return w;
  };
  EXPECT_TRUE(executor.Execute("vb", {write(Write::Verb::kDelete, "c1", "gone")}).ok());
  ASSERT_EQ(told.size(), 1u);
  EXPECT_NE(told[0].find("NotFound"), std::string::npos) << told[0];
  ExecuteResult patched = executor.Execute("vb", {write(Write::Verb::kMergePatch, "c1", "gone")});
  EXPECT_EQ(patched.cause.code(), Code::kNotFound);
  EXPECT_EQ(told.size(), 2u);
  EXPECT_TRUE(executor.Execute("vb", {write(Write::Verb::kMergePatch, "c1", "present")}).ok());
  (void)executor.Execute("vb", {write(Write::Verb::kMergePatch, "", "gone")});
  EXPECT_EQ(told.size(), 2u) << "only data-plane writes of objects that are not there";

  Write create = write(Write::Verb::kCreate, "c1", "present");
  create.body = std::make_shared<Json>(Json{{"metadata", {{"name", "present"}}}});
  (void)executor.Execute("vb", {create});
  ASSERT_EQ(told.size(), 3u) << "a create of a member that exists";
  EXPECT_NE(told[2].find("AlreadyExists"), std::string::npos) << told[2];
  create.cluster = "";
  (void)executor.Execute("vb", {create});
  EXPECT_EQ(told.size(), 3u) << "not for the control plane";
}

class RendezvousClient final : public kube::Client {
 public:
  struct Rendezvous {
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0;
    int expected = 0;
  };
  RendezvousClient(std::string cluster, Rendezvous* rendezvous)
      : fake_(std::make_shared<kube::FakeClient>(cluster)), rendezvous_(rendezvous) {}

  const std::string& cluster_name() const override { return fake_->cluster_name(); }
  Result<Json> Get(const kube::Resource& r, std::string_view ns, std::string_view name) override {
    return fake_->Get(r, ns, name);
  }
  Result<Json> List(const kube::Resource& r, std::string_view ns,
                    const kube::ListOptions& o) override {
    return fake_->List(r, ns, o);
  }
  Result<Json> Create(const kube::Resource& r, std::string_view ns, const Json& obj) override {
    std::unique_lock<std::mutex> lock(rendezvous_->mu);
    ++rendezvous_->arrived;
    rendezvous_->cv.notify_all();
    if (!rendezvous_->cv.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return rendezvous_->arrived >= rendezvous_->expected; })) {
      return UnavailableError("the other creates never came at the same time");
    }
    lock.unlock();
    return fake_->Create(r, ns, obj);
  }
  Result<Json> Update(const kube::Resource& r, const Json& obj) override {
    return fake_->Update(r, obj);
  }
  Result<Json> UpdateStatus(const kube::Resource& r, const Json& obj) override {
    return fake_->UpdateStatus(r, obj);
  }
  Result<Json> Patch(const kube::Resource& r, std::string_view ns, std::string_view name,
                     kube::PatchType type, const Json& patch,
                     std::string_view subresource) override {
    return fake_->Patch(r, ns, name, type, patch, subresource);
  }
  Status Delete(const kube::Resource& r, std::string_view ns, std::string_view name,
                const kube::DeleteOptions& o) override {
    return fake_->Delete(r, ns, name, o);
  }
  Result<std::unique_ptr<kube::WatchStream>> Watch(const kube::Resource& r, std::string_view ns,
                                                   const kube::WatchOptions& o) override {
    return fake_->Watch(r, ns, o);
  }
  Result<Json> Request(std::string_view method, std::string_view path, const Json* body) override {
    return fake_->Request(method, path, body);
  }
  kube::FakeClient& fake() { return *fake_; }

 private:
  std::shared_ptr<kube::FakeClient> fake_;
  Rendezvous* rendezvous_;
};

Write MemberCreate(const std::string& cluster) {
  Write w;
  w.verb = Write::Verb::kCreate;
  w.cluster = cluster;
  w.resource = &kube::resources::Backup();
  w.ns = "tidb";
  w.name = "fed-vb";
  w.body = std::make_shared<Json>(Json{{"apiVersion", "pingcap.com/v1alpha1"},
                                       {"kind", "Backup"},
                                       {"metadata", {{"name", "fed-vb"}, {"namespace", "tidb"}}}});
  return w;
}

// No pass blocks on the status bucket: a status write whose token is not free books it and is
// held until it is due, while the member writes before it in the pass go at once.
TEST_F(PacedExecutorTest, AStatusWriteShortOfATokenIsHeldAndTheMemberWritesGo) {
  auto dp = std::make_shared<kube::FakeClient>("c1");
  runtime::StatusWriter paced_writer(client_, std::make_unique<kube::RateLimiter>(1, 1, &clock_));
  Executor executor([&](const std::string& c) { return c.empty() ? client_ : dp; }, &paced_writer,
                    {}, WritePacing{&expectations_, &batcher_});
  Write member = MemberCreate("c1");
  // The burst's one token: written at once.
  ASSERT_FALSE(executor.Execute("ns/vb", {StatusWrite({{"phase", "Running"}}, false)}).held_for);
  const int patches = client_->Calls("PATCH");
  // The next second's token is booked; the member create before it goes now.
  ExecuteResult held =
      executor.Execute("ns/vb", {member, StatusWrite({{"phase", "Initialized"}}, false)});
  EXPECT_TRUE(held.ok());
  ASSERT_TRUE(held.held_for.has_value());
  EXPECT_EQ(*held.held_for, std::chrono::seconds(1));
  EXPECT_EQ(client_->Calls("PATCH"), patches);
  EXPECT_TRUE(dp->Get(kube::resources::Backup(), "tidb", "fed-vb").ok());
  // Early: still held, for what is left; due: written with the booked token.
  clock_.Advance(milliseconds(400));
  held = executor.Execute("ns/vb", {StatusWrite({{"phase", "Initialized"}}, false)});
  ASSERT_TRUE(held.held_for.has_value());
  EXPECT_EQ(*held.held_for, milliseconds(600));
  clock_.Advance(milliseconds(600));
  EXPECT_FALSE(executor.Execute("ns/vb", {StatusWrite({{"phase", "Initialized"}}, false)})
                   .held_for.has_value());
  EXPECT_EQ(client_->Calls("PATCH"), patches + 1);
}

// A mirror-only status write past its window leaves the status bucket's reserve to protocol
// transitions: while less than that share of the burst is free it is held, not booked.
TEST_F(PacedExecutorTest, AMirrorWriteLeavesTheStatusReserveToTransitions) {
  runtime::StatusWriter paced_writer(client_, std::make_unique<kube::RateLimiter>(1, 2, &clock_));
  WritePacing pacing{&expectations_, &batcher_};
  pacing.mirror_status_reserve = 0.5;  // one of the burst's two tokens
  Executor executor([&](const std::string&) { return client_; }, &paced_writer, {}, pacing);
  const int patches = client_->Calls("PATCH");
  // The mirror change waits out its window, then finds both tokens free: written.
  ASSERT_TRUE(executor.Execute("ns/vb", {StatusWrite({{"backups", 1}}, true)}).held_for);
  clock_.Advance(milliseconds(200));
  ASSERT_FALSE(executor.Execute("ns/vb", {StatusWrite({{"backups", 1}}, true)}).held_for);
  // A transition takes the last token; the next mirror change past its window is held for
  // about the time until a token is free again, and books nothing.
  ASSERT_FALSE(executor.Execute("ns/vb", {StatusWrite({{"phase", "Running"}}, false)}).held_for);
  ASSERT_TRUE(executor.Execute("ns/vb", {StatusWrite({{"backups", 2}}, true)}).held_for);
  clock_.Advance(milliseconds(200));
  ExecuteResult held = executor.Execute("ns/vb", {StatusWrite({{"backups", 2}}, true)});
  ASSERT_TRUE(held.held_for.has_value());
  EXPECT_EQ(*held.held_for, std::chrono::seconds(1));  // RateLimiter::Busy: one token's time
  EXPECT_EQ(client_->Calls("PATCH"), patches + 2);
  // A transition is not held back by the reserve: it books the next token.
  held = executor.Execute("ns/vb", {StatusWrite({{"phase", "Initialized"}}, false)});
  ASSERT_TRUE(held.held_for.has_value());
  EXPECT_EQ(*held.held_for, milliseconds(800));
}

// A pass that would open a GC pause on a busy cluster is deferred whole, before any write (its
// status and Events describe the create); pause-critical writes go on the pause clients.
TEST(ExecutorTest, OpeningAPauseWaitsForTheBucketAndPauseWritesGoFirst) {
  auto dp = std::make_shared<kube::FakeClient>("c1");
  auto dp_pause = std::make_shared<kube::FakeClient>("c1-pause");
  auto cp = std::make_shared<kube::FakeClient>("control");
  runtime::StatusWriter status_writer(cp);
  std::optional<std::chrono::nanoseconds> busy = milliseconds(300);
  WritePacing pacing;
  pacing.busy = [&](const std::string& cluster) {
    return cluster == "c1" ? busy : std::optional<std::chrono::nanoseconds>();
  };
  pacing.pause_clients = [&](const std::string& cluster) {
    return cluster == "c1" ? dp_pause : nullptr;
  };
  Executor executor([&](const std::string& c) { return c.empty() ? cp : dp; }, &status_writer, {},
                    pacing);
  Write vb_patch = MemberCreate("");  // a control-plane write before the create
  vb_patch.verb = Write::Verb::kMergePatch;
  vb_patch.missing_is_done = true;
  Write open = MemberCreate("c1");
  open.admission_on = {"c1"};
  ExecuteResult deferred = executor.Execute("ns/vb", {vb_patch, open});
  ASSERT_TRUE(deferred.deferred_for.has_value());
  EXPECT_EQ(*deferred.deferred_for, milliseconds(300));
  EXPECT_EQ(cp->Calls("PATCH") + dp->Calls("POST") + dp_pause->Calls("POST"), 0);
  // Another cluster is not busy; neither is c1 later. The create goes on the ordinary client.
  Write elsewhere = MemberCreate("c2");
  elsewhere.admission_on = {"c2", "c3"};
  EXPECT_FALSE(executor.Execute("ns/vb", {elsewhere}).deferred_for.has_value());
  // A pause whose other members go to the busy cluster waits too.
  elsewhere.admission_on = {"c2", "c1"};
  EXPECT_EQ(executor.Execute("ns/vb", {elsewhere}).deferred_for, milliseconds(300));
  busy.reset();
  EXPECT_TRUE(executor.Execute("ns/vb", {open}).ok());
  EXPECT_EQ(dp->Calls("POST"), 2);
  // A pause-critical write goes on the pause client.
  Write execute = MemberCreate("c1");
  execute.verb = Write::Verb::kMergePatch;
  execute.pause_critical = true;
  execute.missing_is_done = true;
  execute.body = std::make_shared<Json>(Json{{"spec", {{"federalVolumeBackupPhase", "execute"}}}});
  EXPECT_TRUE(executor.Execute("ns/vb", {execute}).ok());
  EXPECT_EQ(dp_pause->Calls("PATCH"), 1);
  EXPECT_EQ(dp->Calls("PATCH"), 0);
}

// A member patch decided on a resourceVersion the member cache has moved past is not sent: the
// server would answer 409 (the data plane wrote the member meanwhile); the pass decides again.
TEST(ExecutorTest, APatchDecidedOnAnOlderCacheIsNotSent) {
  auto dp = std::make_shared<kube::FakeClient>("c1");
  auto cp = std::make_shared<kube::FakeClient>("control");
  Write create = MemberCreate("c1");
  Executor plain([&](const std::string& c) { return c.empty() ? cp : dp; }, nullptr, {});
  ASSERT_TRUE(plain.Execute("ns/vb", {create}).ok());
  std::string cached_rv;
  WritePacing pacing;
  pacing.cached_rv = [&](const Write& w) {
    EXPECT_EQ(w.cluster, "c1");
    return cached_rv;
  };
  Executor executor([&](const std::string& c) { return c.empty() ? cp : dp; }, nullptr, {}, pacing);
  // A resumeGcSchedule patch decided on the member as the server has it now.
  auto decided_patch = [&] {
    Write patch = MemberCreate("c1");
    patch.verb = Write::Verb::kMergePatch;
    const std::string rv = JsonStringAt(*dp->Get(kube::resources::Backup(), "tidb", "fed-vb"),
                                        {"metadata", "resourceVersion"});
    patch.body = std::make_shared<Json>(
        Json{{"metadata", {{"resourceVersion", rv}}}, {"spec", {{"resumeGcSchedule", true}}}});
    return patch;
  };
  const std::vector<Write> stale_pass = {decided_patch()};
  cached_rv = JsonStringAt(*stale_pass[0].body, {"metadata", "resourceVersion"}) + "1";
  ExecuteResult stale = executor.Execute("ns/vb", stale_pass);
  EXPECT_TRUE(stale.decide_again);
  EXPECT_EQ(stale.failed, &stale_pass[0]);
  EXPECT_EQ(dp->Calls("PATCH"), 0);
  // The cache shows what the decision read, or does not know the member: the patch goes.
  for (bool known : {true, false}) {
    Write patch = decided_patch();
    cached_rv = known ? JsonStringAt(*patch.body, {"metadata", "resourceVersion"}) : "";
    EXPECT_TRUE(executor.Execute("ns/vb", {patch}).ok());
  }
  EXPECT_EQ(dp->Calls("PATCH"), 2);
}

// While an open pause's pass waits for a worker, a pass that starts new work is deferred (for
// kBacklogDeferral) before any write; passes that start nothing go on.
TEST(ExecutorTest, StartingNewWorkWaitsWhileAdmittedWorkIsBacklogged) {
  auto dp = std::make_shared<kube::FakeClient>("c1");
  auto cp = std::make_shared<kube::FakeClient>("control");
  runtime::StatusWriter status_writer(cp);
  bool backlogged = true;
  WritePacing pacing;
  pacing.backlogged = [&] { return backlogged; };
  Executor executor([&](const std::string& c) { return c.empty() ? cp : dp; }, &status_writer, {},
                    pacing);
  Write open = MemberCreate("c1");
  open.admission_on = {"c1"};
  ExecuteResult deferred = executor.Execute("ns/vb", {open});
  EXPECT_EQ(deferred.deferred_for, std::optional<std::chrono::nanoseconds>(kBacklogDeferral));
  EXPECT_EQ(dp->Calls("POST"), 0);
  Write other = MemberCreate("c1");
  other.name = "fed-other";
  auto body = std::make_shared<Json>(*other.body);
  (*body)["metadata"]["name"] = "fed-other";
  other.body = body;
  EXPECT_TRUE(executor.Execute("ns/other", {other}).ok());
  EXPECT_EQ(dp->Calls("POST"), 1);
  backlogged = false;
  EXPECT_TRUE(executor.Execute("ns/vb", {open}).ok());
  EXPECT_EQ(dp->Calls("POST"), 2);
}

// Member writes to different data planes go at once (the GC pause waits for the slowest execute
// create, not for their sum); answers are settled in decision order, the first failure is the
// one reported, and nothing after the run of member writes is sent.
TEST(ExecutorTest, MemberWritesToDifferentDataPlanesGoAtOnceAndTheFirstFailureStops) {
  for (bool fail : {false, true}) {
    RendezvousClient::Rendezvous rendezvous;
    rendezvous.expected = 3;
    std::map<std::string, std::shared_ptr<RendezvousClient>> planes;
    for (const char* c : {"c1", "c2", "c3"}) {
      planes[c] = std::make_shared<RendezvousClient>(c, &rendezvous);
    }
    auto control = std::make_shared<kube::FakeClient>("control");
    ASSERT_TRUE(control
                    ->Create(kube::resources::VolumeBackup(), "ns",
                             {{"apiVersion", "federation.pingcap.com/v1alpha1"},
                              {"kind", "VolumeBackup"},
                              {"metadata", {{"name", "vb"}, {"namespace", "ns"}}}})
                    .ok());
    runtime::StatusWriter status_writer(control);
    Executor executor(
        [&](const std::string& c) -> std::shared_ptr<kube::Client> {
          if (c.empty()) return control;
          return planes.at(c);
        },
        &status_writer, {});
    if (fail) {
      planes["c2"]->fake().FailNext("POST", Status(Code::kConflict, "c2 says no"));
      planes["c3"]->fake().FailNext("POST", Status(Code::kConflict, "c3 says no"));
    }
    Write finalizer;  // a control-plane write after the member writes
    finalizer.verb = Write::Verb::kMergePatch;
    finalizer.resource = &kube::resources::VolumeBackup();
    finalizer.ns = "ns";
    finalizer.name = "vb";
    finalizer.body = std::make_shared<Json>(Json{{"metadata", {{"labels", {{"a", "b"}}}}}});
    std::vector<std::string> done;
    const std::vector<Write> writes = {MemberCreate("c1"), MemberCreate("c2"), MemberCreate("c3"),
                                       finalizer};
    ExecuteResult result = executor.Execute(
        "ns/vb", writes, [&](const Write& w, const Json&) { done.push_back(w.cluster); });
    EXPECT_EQ(rendezvous.arrived, 3) << fail;
    auto vb = control->Get(kube::resources::VolumeBackup(), "ns", "vb");
    ASSERT_TRUE(vb.ok());
    if (!fail) {
      EXPECT_TRUE(result.ok()) << result.error.ToString();
      EXPECT_EQ(done, (std::vector<std::string>{"c1", "c2", "c3", ""}));
      EXPECT_EQ(JsonStringAt(*vb, {"metadata", "labels", "a"}), "b");
      continue;
    }
    EXPECT_TRUE(JsonStringAt(*vb, {"metadata", "labels", "a"}).empty()) << "nothing after them";
    ASSERT_NE(result.failed, nullptr);
    EXPECT_EQ(result.failed->cluster, "c2") << result.error.ToString();
    EXPECT_EQ(result.cause.code(), Code::kConflict);
    EXPECT_EQ(done, (std::vector<std::string>{"c1"}));
    EXPECT_TRUE(planes["c1"]->fake().Get(kube::resources::Backup(), "tidb", "fed-vb").ok());
  }
}

}  // namespace
}  // namespace brfed::federation
