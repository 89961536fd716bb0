#include "apiserver/store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

const char* kCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.com"},
  "spec": {"group": "example.com", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "additionalPrinterColumns": [{"name": "Phase", "type": "string", "jsonPath": ".status.phase"}],
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
          "size": {"type": "integer", "minimum": 1},
          "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})";

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(&registry_, &clock_, {5, 100}) {
    Target ns{registry_.FindById("namespaces"), "v1"};
    EXPECT_TRUE(store_.Create(ns, Json{{"metadata", {{"name", "ns1"}}}}, {}).ok());
    EXPECT_TRUE(store_.LoadCrd(*ParseJson(kCrd)).ok());
  }
  Target Widgets(std::string name = "") {
    return {registry_.Find("example.com", "v1", "widgets"), "v1", "ns1", std::move(name)};
  }
  Json Widget(const std::string& name, int size) {
    return {{"apiVersion", "example.com/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", name}}},
            {"spec", {{"size", size}}}};
  }

  FakeClock clock_;
  ResourceRegistry registry_;
  Store store_;
};

TEST_F(StoreTest, CrdServesItsResourceAndCreateStampsMetadata) {
  ASSERT_NE(Widgets().resource, nullptr);
  Result<Json> w = store_.Create(Widgets(), Widget("a", 2), {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_FALSE(JsonStringAt(*w, {"metadata", "uid"}).empty());
  EXPECT_EQ(JsonIntAt(*w, {"metadata", "generation"}), 1);
  EXPECT_EQ(JsonStringAt(*w, {"spec", "mode"}), "fast");  // defaulted
  EXPECT_EQ(JsonStringAt(*w, {"metadata", "namespace"}), "ns1");
  Result<Json> again = store_.Create(Widgets(), Widget("a", 2), {});
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
}

TEST_F(StoreTest, CreateNeedsTheNamespace) {
  Target t = Widgets();
  t.ns = "missing";
  EXPECT_EQ(store_.Create(t, Widget("a", 1), {}).status().code(), Code::kNotFound);
}

TEST_F(StoreTest, SchemaViolationNamesTheField) {
  std::vector<FieldError> causes;
  Result<Json> w = store_.Create(Widgets(), Widget("a", 0), {false, &causes});
  ASSERT_EQ(w.status().code(), Code::kInvalid);
  EXPECT_EQ(w.status().http_status(), 422);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "spec.size");
  EXPECT_NE(w.status().message().find("spec.size"), std::string::npos);
}

TEST_F(StoreTest, StaleUpdateConflictsAndGenerationFollowsSpec) {
  Json w = *store_.Create(Widgets(), Widget("a", 1), {});
  Json changed = w;
  changed["spec"]["size"] = 3;
  Result<Json> updated = store_.Update(Widgets("a"), changed, {});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(JsonIntAt(*updated, {"metadata", "generation"}), 2);
  Result<Json> stale = store_.Update(Widgets("a"), changed, {});
  EXPECT_EQ(stale.status().code(), Code::kConflict);
  // Metadata and (with a status subresource) the status are not what generation counts.
  Json labelled = *updated;
  labelled["metadata"]["labels"] = {{"k", "v"}};
  labelled["status"] = {{"phase", "Ignored"}};
  Result<Json> relabelled = store_.Update(Widgets("a"), labelled, {});
  ASSERT_TRUE(relabelled.ok()) << relabelled.status().ToString();
  EXPECT_EQ(JsonStringAt(*relabelled, {"metadata", "labels", "k"}), "v");
  EXPECT_EQ(JsonIntAt(*relabelled, {"metadata", "generation"}), 2);
  Json slower = *relabelled;
  slower["spec"]["mode"] = "slow";
  EXPECT_EQ(JsonIntAt(store_.Update(Widgets("a"), slower, {}).value(), {"metadata", "generation"}),
            3);
}

// kube-apiserver decodes 2.0 as a float64: its integer check takes it, the generation moves
// (an int64 and a float64 never compare equal), and it is written back as 2. Checked against a
// real kube-apiserver by tests/fidelity (NumbersAsKubeDecodesThem).
TEST_F(StoreTest, IntegralFloatsAreIntegersThatMoveTheGeneration) {
  Json created = *store_.Create(Widgets(), Json::parse(R"({"apiVersion": "example.com/v1",
      "kind": "Widget", "metadata": {"name": "a"}, "spec": {"size": 2.0}})"),
                                {});
  EXPECT_TRUE(JsonAt(created, {"spec", "size"})->is_number_integer());
  EXPECT_EQ(DumpJson(created["spec"]["size"]), "2");
  auto patch_size = [&](const char* size) {
    return store_.Patch(Widgets("a"), PatchType::kMerge,
                        Json::parse(std::string(R"({"spec": {"size": )") + size + "}}"), {});
  };
  Result<Store::PatchResult> as_float = patch_size("2.0");
  ASSERT_TRUE(as_float.ok()) << as_float.status().ToString();
  EXPECT_EQ(JsonIntAt(as_float->object, {"metadata", "generation"}), 2);
  EXPECT_TRUE(JsonAt(as_float->object, {"spec", "size"})->is_number_integer());
  Result<Store::PatchResult> again = patch_size("2.0");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(JsonIntAt(again->object, {"metadata", "generation"}), 3);
  // The same integer again changes nothing: no write, no new resourceVersion.
  Result<Store::PatchResult> as_integer = patch_size("2");
  ASSERT_TRUE(as_integer.ok());
  EXPECT_EQ(JsonIntAt(as_integer->object, {"metadata", "generation"}), 3);
  EXPECT_EQ(JsonStringAt(as_integer->object, {"metadata", "resourceVersion"}),
            JsonStringAt(again->object, {"metadata", "resourceVersion"}));
  EXPECT_EQ(patch_size("2.5").status().code(), Code::kInvalid);
}

// As kube-apiserver's Go types (omitempty): empty collections in metadata are not stored.
TEST_F(StoreTest, EmptyMetadataCollectionsAreLeftOut) {
  Json w = Widget("a", 1);
  w["metadata"].update(Json::parse(
      R"({"labels": {}, "annotations": {}, "finalizers": ["f"], "ownerReferences": []})"));
  Json created = *store_.Create(Widgets(), w, {});
  for (const char* field : {"labels", "annotations", "ownerReferences"}) {
    EXPECT_EQ(JsonAt(created, {"metadata", field}), nullptr) << field;
  }
  ASSERT_NE(JsonAt(created, {"metadata", "finalizers"}), nullptr);
  Result<Store::PatchResult> emptied = store_.Patch(
      Widgets("a"), PatchType::kMerge, Json::parse(R"({"metadata": {"finalizers": []}})"), {});
  ASSERT_TRUE(emptied.ok()) << emptied.status().ToString();
  EXPECT_EQ(JsonAt(emptied->object, {"metadata", "finalizers"}), nullptr);
}

TEST_F(StoreTest, StatusOnlyThroughSubresource) {
  store_.Create(Widgets(), Widget("a", 1), {}).value();
  Result<Store::PatchResult> main =
      store_.Patch(Widgets("a"), PatchType::kMerge, Json{{"status", {{"phase", "Done"}}}}, {});
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(JsonAt(main->object, {"status"}), nullptr);
  Target status = Widgets("a");
  status.status = true;
  Result<Store::PatchResult> st =
      store_.Patch(status, PatchType::kMerge,
                   Json{{"status", {{"phase", "Done"}}}, {"spec", {{"size", 9}}}}, {});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(JsonStringAt(st->object, {"status", "phase"}), "Done");
  EXPECT_EQ(JsonIntAt(st->object, {"spec", "size"}), 1);
  EXPECT_EQ(JsonIntAt(st->object, {"metadata", "generation"}), 1);
}

TEST_F(StoreTest, StrategicMergeOnCustomResourceIs415) {
  store_.Create(Widgets(), Widget("a", 1), {}).value();
  EXPECT_EQ(store_.Patch(Widgets("a"), PatchType::kStrategicMerge, Json::object(), {})
                .status()
                .http_status(),
            415);
}

TEST_F(StoreTest, ApplyCreatesThenMerges) {
  Result<Store::PatchResult> first =
      store_.Patch(Widgets("a"), PatchType::kApply, Widget("a", 1), {});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  Result<Store::PatchResult> second =
      store_.Patch(Widgets("a"), PatchType::kApply, Widget("a", 4), {});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(JsonIntAt(second->object, {"spec", "size"}), 4);
}

TEST_F(StoreTest, FinalizerHoldsDeletion) {
  Json w = Widget("a", 1);
  w["metadata"]["finalizers"] = {"example.com/hold"};
  store_.Create(Widgets(), w, {}).value();
  Result<Json> marked = store_.Delete(Widgets("a"), {});
  ASSERT_TRUE(marked.ok());
  EXPECT_NE(JsonAt(*marked, {"metadata", "deletionTimestamp"}), nullptr);
  ASSERT_TRUE(store_.Get(Widgets("a")).ok());
  Result<Store::PatchResult> released = store_.Patch(
      Widgets("a"), PatchType::kMerge, Json{{"metadata", {{"finalizers", nullptr}}}}, {});
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(store_.Get(Widgets("a")).status().code(), Code::kNotFound);
}

// As kube-apiserver: propagationPolicy Foreground marks the object and adds the
// foregroundDeletion finalizer (the garbage collector's to remove), also to an object already
// being deleted; removing every finalizer then deletes it. Background deletes at once.
TEST_F(StoreTest, ForegroundDeletionAddsItsFinalizer) {
  auto finalizers = [&](const std::string& name) {
    return JsonAt(store_.Get(Widgets(name)).value(), {"metadata", "finalizers"})->dump();
  };
  store_.Create(Widgets(), Widget("plain", 1), {}).value();
  DeleteOptions foreground;
  foreground.propagation_policy = "Foreground";
  Result<Json> marked = store_.Delete(Widgets("plain"), foreground);
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_NE(JsonAt(*marked, {"metadata", "deletionTimestamp"}), nullptr);
  EXPECT_EQ(finalizers("plain"), R"(["foregroundDeletion"])");
  const uint64_t rv = store_.CurrentResourceVersion();
  ASSERT_TRUE(store_.Delete(Widgets("plain"), foreground).ok());
  EXPECT_EQ(store_.CurrentResourceVersion(), rv) << "a second foreground delete changes nothing";

  Json held = Widget("held", 1);
  held["metadata"]["finalizers"] = {"example.com/hold"};
  store_.Create(Widgets(), held, {}).value();
  ASSERT_TRUE(store_.Delete(Widgets("held"), {}).ok());
  ASSERT_TRUE(store_.Delete(Widgets("held"), foreground).ok());
  EXPECT_EQ(finalizers("held"), R"(["example.com/hold","foregroundDeletion"])");
  ASSERT_TRUE(store_
                  .Patch(Widgets("held"), PatchType::kMerge,
                         Json{{"metadata", {{"finalizers", nullptr}}}}, {})
                  .ok());
  EXPECT_EQ(store_.Get(Widgets("held")).status().code(), Code::kNotFound);

  store_.Create(Widgets(), Widget("background", 1), {}).value();
  DeleteOptions background;
  background.propagation_policy = "Background";
  ASSERT_TRUE(store_.Delete(Widgets("background"), background).ok());
  EXPECT_EQ(store_.Get(Widgets("background")).status().code(), Code::kNotFound);
}

TEST_F(StoreTest, WatchReplaysHistoryAndExpires) {
  uint64_t start = store_.CurrentResourceVersion();
  for (int i = 0; i < 3; ++i)
    store_.Create(Widgets(), Widget("w" + std::to_string(i), 1), {}).value();
  auto watcher = store_.Watch(Widgets(), std::to_string(start), {}, false);
  ASSERT_TRUE(watcher.ok());
  for (int i = 0; i < 3; ++i) {
    auto ev = (*watcher)->Next(std::chrono::milliseconds(100));
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(ev->type, "ADDED");
    EXPECT_EQ(JsonStringAt(*ev->object, {"metadata", "name"}), "w" + std::to_string(i));
  }
  EXPECT_FALSE((*watcher)->Next(std::chrono::milliseconds(10)).has_value());
  for (int i = 3; i < 10; ++i)
    store_.Create(Widgets(), Widget("w" + std::to_string(i), 1), {}).value();
  EXPECT_EQ(store_.Watch(Widgets(), std::to_string(start), {}, false).status().code(), Code::kGone);
}

// The fault behind /admin/faults/expire-watches: a resumption from before the expiry needs a
// relist; from the current version (a relist's) and from now, watches are served as before.
TEST_F(StoreTest, ExpiredHistoryAnswersGoneToOlderResumptions) {
  store_.Create(Widgets(), Widget("a", 1), {}).value();
  const uint64_t seen = store_.CurrentResourceVersion();
  store_.Create(Widgets(), Widget("b", 1), {}).value();
  store_.ExpireWatchHistory();
  EXPECT_EQ(store_.Watch(Widgets(), std::to_string(seen), {}, false).status().code(), Code::kGone);
  EXPECT_EQ(store_.Watch(Widgets(), "1", {}, false).status().code(), Code::kGone);
  auto relisted =
      store_.Watch(Widgets(), std::to_string(store_.CurrentResourceVersion()), {}, false);
  ASSERT_TRUE(relisted.ok()) << "a relist's version resumes";
  store_.Create(Widgets(), Widget("c", 1), {}).value();
  auto next = (*relisted)->Next(std::chrono::milliseconds(100));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(JsonStringAt(*next->object, {"metadata", "name"}), "c");
  auto fresh = store_.Watch(Widgets(), "", {}, false);
  ASSERT_TRUE(fresh.ok());
}

TEST_F(StoreTest, WatchFromZeroSendsCurrentStateAndHonoursSelectors) {
  Json a = Widget("a", 1);
  a["metadata"]["labels"] = {{"app", "x"}};
  store_.Create(Widgets(), a, {}).value();
  store_.Create(Widgets(), Widget("b", 1), {}).value();
  ListOptions filter;
  filter.labels = *LabelSelector::Parse("app=x");
  auto watcher = store_.Watch(Widgets(), "0", filter, false);
  ASSERT_TRUE(watcher.ok());
  auto ev = (*watcher)->Next(std::chrono::milliseconds(100));
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(JsonStringAt(*ev->object, {"metadata", "name"}), "a");
  EXPECT_FALSE((*watcher)->Next(std::chrono::milliseconds(10)).has_value());
  ASSERT_TRUE(store_.Delete(Widgets("a"), {}).ok());
  ev = (*watcher)->Next(std::chrono::milliseconds(100));
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->type, "DELETED");
}

// ListText is List's document as text, and follows writes: the text kept for an object is
// dropped when the object changes or goes.
TEST_F(StoreTest, ListTextIsTheListsJsonAndFollowsWrites) {
  Json a = Widget("a", 1);
  a["metadata"]["labels"] = {{"app", "x"}};
  store_.Create(Widgets(), a, {}).value();
  store_.Create(Widgets(), Widget("b", 2), {}).value();
  ListOptions everything;
  ListOptions only_x;
  only_x.labels = *LabelSelector::Parse("app=x");
  Target other_ns = Widgets();
  other_ns.ns = "elsewhere";
  auto expect_same = [&](const Target& t, const ListOptions& o, size_t items) {
    Result<Json> list = store_.List(t, o);
    Result<Store::ListBody> text = store_.ListText(t, o);
    ASSERT_TRUE(list.ok() && text.ok());
    EXPECT_EQ(text->json, DumpJson(*list));
    EXPECT_EQ(text->resource_version, JsonStringAt(*list, {"metadata", "resourceVersion"}));
    EXPECT_EQ((*list)["items"].size(), items);
  };
  expect_same(Widgets(), everything, 2);
  expect_same(Widgets(), only_x, 1);
  expect_same(other_ns, everything, 0);
  expect_same(Widgets(), everything, 2);  // from the kept texts this time

  Json b = store_.Get(Widgets("b")).value();
  b["spec"]["size"] = 7;
  ASSERT_TRUE(store_.Update(Widgets("b"), b, {}).ok());
  expect_same(Widgets(), everything, 2);
  EXPECT_NE(store_.ListText(Widgets(), everything)->json.find("\"size\":7"), std::string::npos);
  ASSERT_TRUE(store_.Delete(Widgets("a"), {}).ok());
  expect_same(Widgets(), everything, 1);
  expect_same(Widgets(), only_x, 0);
}

// A watch list (sendInitialEvents): the current state, a BOOKMARK at the store's resourceVersion
// that ends it, then changes; a resourceVersion older than the history is no obstacle.
TEST_F(StoreTest, InitialEventsEndWithABookmarkThenChangesFollow) {
  uint64_t start = store_.CurrentResourceVersion();
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(store_.Create(Widgets(), Widget("w" + std::to_string(i), 1), {}).ok());
  }
  for (int i = 2; i < 12; ++i)
    ASSERT_TRUE(store_.Delete(Widgets("w" + std::to_string(i)), {}).ok());
  auto watcher = store_.Watch(Widgets(), std::to_string(start), {}, true);
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto ev = (*watcher)->Next(std::chrono::milliseconds(100));
    ASSERT_TRUE(ev.has_value());
    seen.push_back(ev->type + " " +
                   (ev->object ? JsonStringAt(*ev->object, {"metadata", "name"}) : ""));
    if (ev->type == "BOOKMARK") {
      EXPECT_EQ(ev->resource_version, store_.CurrentResourceVersion());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED w0", "ADDED w1", "BOOKMARK "}));
  store_.Create(Widgets(), Widget("later", 1), {}).value();
  auto ev = (*watcher)->Next(std::chrono::milliseconds(100));
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->type + " " + JsonStringAt(*ev->object, {"metadata", "name"}), "ADDED later");
}

TEST_F(StoreTest, SecretStringDataIsFolded) {
  Target secrets{registry_.FindById("secrets"), "v1", "ns1"};
  Result<Json> s =
      store_.Create(secrets, Json{{"metadata", {{"name", "s"}}}, {"stringData", {{"a", "b"}}}}, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(JsonStringAt(*s, {"data", "a"}), "Yg==");
  EXPECT_EQ(JsonStringAt(*s, {"type"}), "Opaque");
  EXPECT_EQ(JsonAt(*s, {"stringData"}), nullptr);
}

TEST_F(StoreTest, DryRunChangesNothing) {
  uint64_t rv = store_.CurrentResourceVersion();
  ASSERT_TRUE(store_.Create(Widgets(), Widget("a", 1), {true, nullptr}).ok());
  EXPECT_EQ(store_.CurrentResourceVersion(), rv);
  EXPECT_EQ(store_.Get(Widgets("a")).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace brfed::apiserver
