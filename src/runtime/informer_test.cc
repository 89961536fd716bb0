// Informer, EventRecorder and LeaderElector against the in-memory FakeClient.
#include "runtime/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "kube/testing/fake_client.h"
#include "kube/testing/testing_util.h"
#include "runtime/event_mappers.h"
#include "runtime/event_recorder.h"
#include "runtime/informer_factory.h"
#include "runtime/leader_election.h"

namespace brfed::runtime {
namespace {

using namespace std::chrono_literals;
using kube::FakeClient;

using kube::testing::WaitFor;

Json ConfigMap(const std::string& name, const std::string& value) {
  return {{"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
}

InformerOptions FastOptions() {
  InformerOptions o;
  o.backoff.initial = 10ms;
  o.backoff.max = 50ms;
  return o;
}

// The store equals the server's list: same keys, same resourceVersions.
bool SameAsServer(const Informer& inf, FakeClient& client) {
  auto list = client.List(kube::resources::ConfigMap(), "");
  if (!list.ok()) return false;
  const Json& items = (*list)["items"];
  if (items.size() != inf.cache().size()) return false;
  for (const auto& item : items) {
    auto cached = inf.cache().Get(KeyOf(item));
    if (!cached || JsonStringAt(*cached, {"metadata", "resourceVersion"}) !=
                       JsonStringAt(item, {"metadata", "resourceVersion"})) {
      return false;
    }
  }
  return true;
}

TEST(InformerTest, SyncsThenFollowsWatchAndHandlersSeeEveryChange) {
  auto client = std::make_shared<FakeClient>();
  const auto& cm = kube::resources::ConfigMap();
  ASSERT_TRUE(client->Create(cm, "ns", ConfigMap("a", "1")).ok());
  Informer inf(client, cm, FastOptions());
  std::atomic<int> adds{0}, updates{0}, deletes{0};
  inf.AddHandlers({[&](const Json&) { ++adds; }, [&](const Json&, const Json&) { ++updates; },
                   [&](const Json&) { ++deletes; }});
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(20s));
  EXPECT_EQ(inf.cache().size(), 1u);
  EXPECT_EQ(adds.load(), 1);
  ASSERT_TRUE(WaitFor([&] { return client->Calls("WATCH") >= 1; }));
  ASSERT_TRUE(client->Create(cm, "ns", ConfigMap("b", "1")).ok());
  ASSERT_TRUE(
      client->Patch(cm, "ns", "a", kube::PatchType::kMerge, Json{{"data", {{"v", "2"}}}}).ok());
  ASSERT_TRUE(client->Delete(cm, "ns", "b").ok());
  ASSERT_TRUE(WaitFor([&] { return deletes.load() == 1 && SameAsServer(inf, *client); }));
  EXPECT_EQ(adds.load(), 2);
  EXPECT_EQ(updates.load(), 1);
  inf.Stop();
}

// An informer over `objects` ConfigMaps of a FakeClient ("o0", "o1", ...), synced and
// watching, counting the deletes it emits.
struct WatchingInformer {
  explicit WatchingInformer(int objects) {
    for (int i = 0; i < objects; ++i) {
      EXPECT_TRUE(client->Create(cm, "ns", ConfigMap("o" + std::to_string(i), "x")).ok());
    }
    inf.AddHandlers({nullptr, nullptr, [this](const Json&) { ++deletes; }});
    inf.Start();
    watching = inf.WaitForSync(20s) && WaitFor([&] { return client->Calls("WATCH") >= 1; });
  }
  std::shared_ptr<FakeClient> client = std::make_shared<FakeClient>();
  const kube::Resource& cm = kube::resources::ConfigMap();
  Informer inf{client, cm, FastOptions()};
  std::atomic<int> deletes{0};
  bool watching = false;
};

TEST(InformerTest, ResumesAfterDropsAndRelistsAfterGoneWithExactDiffs) {
  WatchingInformer w(5);
  ASSERT_TRUE(w.watching);
  auto& client = w.client;
  auto& inf = w.inf;
  auto& deletes = w.deletes;
  const auto& cm = w.cm;
  int lists_before = client->Calls("LIST");
  // A stream that ends with an error the server answered resumes without a relist.
  client->BreakWatches(kube::StatusFromResponse(503, "unavailable"));
  ASSERT_TRUE(WaitFor([&] { return client->Calls("WATCH") >= 2; }));
  EXPECT_EQ(client->Calls("LIST"), lists_before);
  // A dropped connection (no answer: the server may have been replaced) relists.
  client->BreakWatches(Status(Code::kUnavailable, "connection reset"));
  ASSERT_TRUE(WaitFor([&] { return client->Calls("LIST") == lists_before + 1; }));
  ASSERT_TRUE(WaitFor([&] { return client->Calls("WATCH") >= 3; }));
  lists_before = client->Calls("LIST");
  // 410 on the stream: relist. Changes made while no watch is open are found by the relist diff.
  client->FailNext("WATCH", Status(Code::kGone, "too old"));
  client->FailNext("WATCH", Status(Code::kGone, "too old"));
  client->BreakWatches(Status(Code::kGone, "expired"));
  ASSERT_TRUE(client->Delete(cm, "ns", "o1").ok());
  ASSERT_TRUE(client->Create(cm, "ns", ConfigMap("new", "y")).ok());
  // The cache is swapped before the handlers run: wait for the handler too.
  ASSERT_TRUE(WaitFor([&] {
    return client->Calls("LIST") > lists_before && SameAsServer(inf, *client) &&
           deletes.load() >= 1;
  }));
  EXPECT_EQ(deletes.load(), 1);
  // List failures back off and recover.
  client->FailNext("LIST", Status(Code::kUnavailable, "down"));
  client->BreakWatches(Status(Code::kGone, "expired"));
  ASSERT_TRUE(client->Create(cm, "ns", ConfigMap("after", "z")).ok());
  ASSERT_TRUE(WaitFor([&] { return SameAsServer(inf, *client); }));
  inf.Stop();
}

// Issue 18, finding 1: the server comes back empty, and the informer relists and emits a delete
// for every vanished object. Seen as a dropped connection, the relist comes at once (no resume
// is tried); seen as a normal end of the watch, the resume's version check is answered
// ResourceVersionTooLarge first.
TEST(InformerTest, RelistsWhenTheServerComesBackEmpty) {
  for (bool connection_dropped : {true, false}) {
    SCOPED_TRACE(connection_dropped ? "connection dropped" : "watch ended normally");
    WatchingInformer w(3);
    ASSERT_TRUE(w.watching);
    const int lists_before = w.client->Calls("LIST");
    w.client->ResetEmpty(connection_dropped
                             ? Status(Code::kUnavailable, "connection reset: the server restarted")
                             : Status::Ok());
    ASSERT_TRUE(WaitFor([&] { return w.deletes.load() == 3; })) << w.deletes.load();
    EXPECT_EQ(w.client->Calls("LIST_AT_VERSION"), connection_dropped ? 0 : 1);
    EXPECT_EQ(w.client->Calls("LIST"), lists_before + 1) << "one relist";
    EXPECT_TRUE(SameAsServer(w.inf, *w.client));
    w.inf.Stop();
  }
}

// A deletion the watch showed goes to on_delete; one only a relist found (the server came back
// without its data) goes to on_delete_unseen when a handler sets it, with the last known state.
TEST(InformerTest, DeletionsOnlyARelistFoundAreTold) {
  WatchingInformer w(3);
  std::atomic<int> seen{0}, unseen{0};
  Informer inf{w.client, w.cm, FastOptions()};
  InformerHandlers h;
  h.on_delete = [&](const Json&) { ++seen; };
  h.on_delete_unseen = [&](const Json& last) {
    if (JsonStringAt(last, {"data", "v"}) == "x") ++unseen;
  };
  inf.AddHandlers(std::move(h));
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(20s));
  ASSERT_TRUE(WaitFor([&] { return w.client->Calls("WATCH") >= 2; }));
  ASSERT_TRUE(w.client->Delete(w.cm, "ns", "o0").ok());
  ASSERT_TRUE(WaitFor([&] { return seen.load() == 1; }));
  w.client->ResetEmpty(Status(Code::kUnavailable, "connection reset: the server restarted"));
  ASSERT_TRUE(WaitFor([&] { return unseen.load() == 2; })) << unseen.load();
  EXPECT_EQ(seen.load(), 1);
  inf.Stop();
  w.inf.Stop();
}

// A server restarted without its data that accepted the watch following our list stays
// silent, so nothing tells the informer; Relist() (a write answered NotFound, in the manager)
// lists at once and emits the vanished objects' deletes.
TEST(InformerTest, RelistOnRequestDropsWhatASilentResetLost) {
  WatchingInformer w(3);
  ASSERT_TRUE(w.watching);
  const int lists_before = w.client->Calls("LIST");
  w.client->ResetEmptySilently();
  EXPECT_EQ(w.inf.cache().List().size(), 3u) << "nothing told the informer yet";
  w.inf.Relist("a write was answered NotFound");
  ASSERT_TRUE(WaitFor([&] { return w.deletes.load() == 3; })) << w.deletes.load();
  EXPECT_EQ(w.client->Calls("LIST"), lists_before + 1);
  EXPECT_TRUE(SameAsServer(w.inf, *w.client));
  w.inf.Stop();
}

// Without a Relist() request, the same silent reset is found when the watch ends (its timeout):
// the resume first checks that the server still knows our resourceVersion, and it does not.
TEST(InformerTest, ASilentResetIsFoundWhenTheWatchEnds) {
  WatchingInformer w(3);
  ASSERT_TRUE(w.watching);
  w.client->ResetEmptySilently();
  w.client->BreakWatches(Status::Ok());  // a normal end of stream
  ASSERT_TRUE(WaitFor([&] { return w.deletes.load() == 3; })) << w.deletes.load();
  EXPECT_EQ(w.client->Calls("LIST_AT_VERSION"), 1);
  EXPECT_TRUE(SameAsServer(w.inf, *w.client));
  w.inf.Stop();
}

// kube-apiserver's managedFields are kilobytes per object that nothing in the cache reads: the
// cache keeps objects without them, from lists and from watches, unless asked to keep them.
TEST(InformerTest, TheCacheKeepsNoManagedFieldsUnlessAsked) {
  auto client = std::make_shared<FakeClient>();
  const auto& cm = kube::resources::ConfigMap();
  const Json owners = Json::array({{{"manager", "tidb-operator"}, {"operation", "Update"}}});
  Json a = ConfigMap("a", "1");
  a["metadata"]["managedFields"] = owners;
  ASSERT_TRUE(client->Create(cm, "ns", a).ok());
  Informer stripping(client, cm, FastOptions());
  InformerOptions keep_options = FastOptions();
  keep_options.strip_managed_fields = false;
  Informer keeping(client, cm, keep_options);
  for (Informer* inf : {&stripping, &keeping}) {
    inf->Start();
    ASSERT_TRUE(inf->WaitForSync(20s));
  }
  auto managed_fields = [&](const Informer& inf, const std::string& name) -> const Json* {
    auto cached = inf.cache().Get(ObjectKey{"ns", name});
    return cached == nullptr ? nullptr : JsonAt(*cached, {"metadata", "managedFields"});
  };
  ASSERT_NE(stripping.cache().Get(ObjectKey{"ns", "a"}), nullptr);
  EXPECT_EQ(managed_fields(stripping, "a"), nullptr) << "from the list";
  ASSERT_NE(managed_fields(keeping, "a"), nullptr);
  EXPECT_EQ(*managed_fields(keeping, "a"), owners);

  Json b = ConfigMap("b", "1");
  b["metadata"]["managedFields"] = owners;
  ASSERT_TRUE(client->Create(cm, "ns", b).ok());
  ASSERT_TRUE(WaitFor([&] {
    return stripping.cache().Get(ObjectKey{"ns", "b"}) != nullptr &&
           keeping.cache().Get(ObjectKey{"ns", "b"}) != nullptr;
  }));
  EXPECT_EQ(managed_fields(stripping, "b"), nullptr) << "from the watch";
  ASSERT_NE(managed_fields(keeping, "b"), nullptr);
  EXPECT_EQ(*managed_fields(keeping, "b"), owners);
  EXPECT_EQ(JsonStringAt(*stripping.cache().Get(ObjectKey{"ns", "b"}), {"data", "v"}), "1");
  stripping.Stop();
  keeping.Stop();
}

TEST(InformerTest, StopWithoutSyncReturnsFalseAndDoesNotHang) {
  auto client = std::make_shared<FakeClient>();
  for (int i = 0; i < 3; ++i) client->FailNext("LIST", Status(Code::kUnavailable, "down"));
  Informer inf(client, kube::resources::ConfigMap(), FastOptions());
  inf.Start();
  EXPECT_FALSE(inf.WaitForSync(1ms));
  inf.Stop();
  EXPECT_FALSE(inf.HasSynced());
}

TEST(EventRecorderTest, AggregatesRepeatsIntoCount) {
  auto client = std::make_shared<FakeClient>();
  EventRecorder rec(client, "br-federation-manager");
  Json involved = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
                   {"kind", "VolumeBackup"},
                   {"metadata", {{"namespace", "ns"}, {"name", "vb"}, {"uid", "u1"}}}};
  rec.Record(involved, "Normal", "Started", "backup started");
  rec.Record(involved, "Normal", "Started", "backup started");
  rec.Record(involved, "Normal", "Started", "backup started");
  rec.Record(involved, "Warning", "Failed", "member failed");
  rec.Flush();
  auto events = client->List(kube::resources::Event(), "ns");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ((*events)["items"].size(), 2u);
  for (const auto& e : (*events)["items"]) {
    if (e["reason"] == "Started") {
      EXPECT_EQ(e["count"], 3);
      EXPECT_EQ(e["involvedObject"]["name"], "vb");
      EXPECT_EQ(e["source"]["component"], "br-federation-manager");
    } else {
      EXPECT_EQ(e["type"], "Warning");
      EXPECT_EQ(e["count"], 1);
    }
  }
}

TEST(EventRecorderTest, FailuresAndFullBacklogNeverBlock) {
  auto client = std::make_shared<FakeClient>();
  client->FailNext("POST", Status(Code::kForbidden, "no"));
  EventRecorder rec(client, "c", RealClock::Get(), /*max_backlog=*/2);
  Json involved = {{"kind", "X"}, {"metadata", {{"namespace", "ns"}, {"name", "x"}}}};
  for (int i = 0; i < 100; ++i) rec.Record(involved, "Normal", "R", "m" + std::to_string(i));
  rec.Flush();
  EXPECT_GT(rec.dropped(), 0u);
  rec.Stop();
  rec.Record(involved, "Normal", "R", "after stop");  // dropped, not a crash
}

LeaderElector::Config FastLease(const std::string& id) {
  LeaderElector::Config c;
  c.ns = "kube-system";
  c.name = "brfed";
  c.identity = id;
  c.lease_duration = 1500ms;
  c.renew_deadline = 1000ms;
  c.retry_period = 100ms;
  return c;
}

TEST(LeaderElectorTest, OneLeaderAndTakeoverAfterRelease) {
  auto client = std::make_shared<FakeClient>();
  LeaderElector a(client, FastLease("a"));
  LeaderElector b(client, FastLease("b"));
  std::atomic<int> leading{0}, max_leading{0};
  auto started = [&] {
    int n = ++leading;
    int m = max_leading.load();
    while (n > m && !max_leading.compare_exchange_weak(m, n)) {
    }
  };
  auto stopped = [&] { --leading; };
  std::thread ta([&] { EXPECT_TRUE(a.Run(started, stopped).ok()); });
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }));
  std::thread tb([&] { EXPECT_TRUE(b.Run(started, stopped).ok()); });
  std::this_thread::sleep_for(300ms);  // b keeps trying; it must not lead meanwhile
  EXPECT_FALSE(b.IsLeader());
  a.Stop();  // releases the lease
  ta.join();
  ASSERT_TRUE(WaitFor([&] { return b.IsLeader(); }, 5s));
  b.Stop();
  tb.join();
  EXPECT_EQ(max_leading.load(), 1);
  auto lease = client->Get(kube::resources::Lease(), "kube-system", "brfed");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(JsonStringAt(*lease, {"spec", "holderIdentity"}), "");
  EXPECT_EQ(JsonIntAt(*lease, {"spec", "leaseTransitions"}), 1);
}

TEST(LeaderElectorTest, LosesLeadershipWhenRenewalsFail) {
  auto client = std::make_shared<FakeClient>();
  LeaderElector a(client, FastLease("a"));
  std::atomic<bool> stopped{false};
  std::thread ta([&] { EXPECT_TRUE(a.Run(nullptr, [&] { stopped = true; }).ok()); });
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }));
  for (int i = 0; i < 100; ++i) client->FailNext("GET", Status(Code::kUnavailable, "down"));
  ASSERT_TRUE(WaitFor([&] { return stopped.load(); }, 10s));
  EXPECT_FALSE(a.IsLeader());
  ta.join();
}

TEST(LeaderElectorTest, BadConfigIsAnError) {
  auto client = std::make_shared<FakeClient>();
  auto cfg = FastLease("a");
  cfg.renew_deadline = 2s;  // longer than the lease
  EXPECT_EQ(LeaderElector(client, cfg).Run(nullptr, nullptr).code(), Code::kInvalidArgument);
  cfg = FastLease("");
  EXPECT_EQ(LeaderElector(client, cfg).Run(nullptr, nullptr).code(), Code::kInvalidArgument);
}

// Two controllers asking for the same resource get one informer: one list, one watch, and
// both sets of handlers (built by EnqueueMapped) see every change.
TEST(SharedInformerFactoryTest, OneInformerPerResourceAndSelector) {
  auto client = std::make_shared<FakeClient>();
  const auto& cm = kube::resources::ConfigMap();
  ASSERT_TRUE(client->Create(cm, "ns", ConfigMap("a", "1")).ok());
  SharedInformerFactory factory(client, FastOptions());
  std::shared_ptr<Informer> first = factory.For(cm);
  std::shared_ptr<Informer> second = factory.For(cm);
  EXPECT_EQ(first, second);
  EXPECT_NE(factory.For(cm, "app=x"), first);  // another selector, another informer
  EXPECT_EQ(factory.size(), 2u);

  WorkQueue queue_a("a"), queue_b("b");
  first->AddHandlers(EnqueueMapped(&queue_a, ObjectKeyMapper()));
  second->AddHandlers(EnqueueMapped(&queue_b, [](const Json& o) {
    return std::vector<std::string>{"owner-of/" + JsonStringAt(o, {"metadata", "name"})};
  }));
  factory.Start();
  ASSERT_TRUE(SharedInformerFactory::WaitForSync({first.get()}, 20s).ok());
  ASSERT_TRUE(WaitFor([&] { return queue_a.Len() == 1 && queue_b.Len() == 1; }));
  // One list and one watch per informer, not per controller.
  ASSERT_TRUE(WaitFor([&] { return client->Calls("WATCH") == 2; }));
  EXPECT_EQ(client->Calls("LIST"), 2);
  EnqueueAll(first->cache(), &queue_a);  // the cluster-change mapper: every cached key
  EXPECT_EQ(queue_a.Len(), 1u);          // deduplicated with the pending "ns/a"
  factory.Stop();
}

}  // namespace
}  // namespace brfed::runtime
