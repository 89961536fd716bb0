// Fidelity: the same request sequences sent to brfed-apiserver and to a real kube-apiserver
// (brfed-kube-testenv), their responses compared field by field once uids, timestamps,
// resourceVersions and managedFields are dropped. Where the two still differ, the test asserts
// each side's behaviour as it is today, so a change on either side shows up; every such
// difference is listed in docs/apiserver.md ("where brfed-apiserver differs").
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/apiserver/api_util.h"
#include "tests/harness/harness.h"

namespace brfed::testing {
namespace {

using nlohmann::json;

const std::string kToken = "fidelity-admin-token";
const std::string kAliceToken = "alice-token";
const std::string kSrc = BRFED_SOURCE_DIR;
const std::string kUpstream = BRFED_UPSTREAM_DIR;

// Drops what legitimately differs between two servers; marks set-or-not fields as "<set>".
json Normalize(const json& j) {
  if (j.is_array()) {
    json out = json::array();
    for (const json& e : j) out.push_back(Normalize(e));
    return out;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (const auto& [key, value] : j.items()) {
    if (key == "uid" || key == "creationTimestamp" || key == "resourceVersion" ||
        key == "managedFields" || key == "selfLink") {
      continue;
    }
    if ((key == "deletionTimestamp" || key == "continue") && value.is_string() &&
        !value.get<std::string>().empty()) {
      out[key] = "<set>";
      continue;
    }
    out[key] = Normalize(value);
  }
  return out;
}

// One recorded response: which request, its HTTP status and its normalized body.
struct Step {
  std::string what;
  long status = 0;
  json body;
};

json ParseOrText(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  return j.is_discarded() ? json(body) : Normalize(j);
}

// Sends requests to one server and records each response.
class Recorder {
 public:
  explicit Recorder(HttpClient client) : client_(std::move(client)) {}
  json Send(const std::string& what, const std::string& method, const std::string& path,
            const json& body = nullptr, const std::string& content_type = "application/json") {
    HttpResponse r = client_.Request(method, path, body.is_null() ? "" : body.dump(), content_type);
    steps.push_back({what, r.status, ParseOrText(r.body)});
    json raw = json::parse(r.body, nullptr, false);
    return raw.is_discarded() ? json() : raw;
  }
  // Records every event of a watch that ends by timeoutSeconds (part of `path`).
  void Watch(const std::string& what, const std::string& path) {
    WatchEvents events;
    long status = client_.Stream(
        path,
        [&](const std::string& d) {
          events.Feed(d);
          return true;
        },
        60s);
    steps.push_back({what + " (status)", status, nullptr});
    for (size_t i = 0; i < events.events.size(); ++i)
      steps.push_back({what + " event " + std::to_string(i), 0, Normalize(events.events[i])});
  }
  const HttpClient& client() const { return client_; }
  std::vector<Step> steps;

 private:
  HttpClient client_;
};

// Both servers, started with the same CRDs: ours (status subresource) and upstream's Backup
// (no status subresource, full schema).
class FidelityTest : public ::testing::Test {
 protected:
  void StartBoth(std::vector<std::string> brfed_args = {},
                 std::vector<std::string> kube_args = {}) {
    ASSERT_TRUE(std::filesystem::exists(KubeTestenvBinary()))
        << KubeTestenvBinary() << " is missing: run scripts/install-deps.sh (it builds the Go "
        << "test tools into build/tools/bin)";
    std::vector<std::string> crds = {"--crd", kSrc + "/deploy/crds", "--crd",
                                     kUpstream + "/manifests/crd/v1/pingcap.com_backups.yaml"};
    brfed_args.insert(brfed_args.end(), crds.begin(), crds.end());
    kube_args.insert(kube_args.end(), crds.begin(), crds.end());
    Result<ApiServer> b = StartApiServer({.dir = dir_.path(),
                                          .name = "brfed",
                                          .tls = true,
                                          .token = kToken,
                                          .extra_args = brfed_args,
                                          .backend = Backend::kBrfedApiServer});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    brfed_ = std::move(b).value();
    Result<ApiServer> k = StartApiServer({.dir = dir_.path(),
                                          .name = "kube",
                                          .tls = true,
                                          .token = kToken,
                                          .extra_args = kube_args,
                                          .ready_timeout = 180s,
                                          .backend = Backend::kKube});
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    kube_ = std::move(k).value();
  }

  // Runs `script` against both servers (brfed first) and returns both recordings.
  std::pair<std::vector<Step>, std::vector<Step>> RunOnBoth(
      const std::function<void(Recorder&)>& script) {
    Recorder b(brfed_.Client()), k(kube_.Client());
    script(b);
    script(k);
    return {b.steps, k.steps};
  }

  TempDir dir_;
  ApiServer brfed_;
  ApiServer kube_;
};

// Compares two recordings step by step; `skip(what)` names steps compared by the test itself.
// Known differences: step -> the finding (docs/apiserver.md) that explains it. Such a step
// must still differ; when it no longer does, the finding is fixed and leaves the list.
using Known = std::map<std::string, std::string>;

void ExpectSame(const std::vector<Step>& brfed, const std::vector<Step>& kube,
                const Known& known = {}) {
  auto whats = [](const std::vector<Step>& steps) {
    std::string out;
    for (const Step& s : steps) out += "\n  " + std::to_string(s.status) + " " + s.what;
    return out;
  };
  ASSERT_EQ(brfed.size(), kube.size())
      << "brfed-apiserver:" << whats(brfed) << "\nkube-apiserver:" << whats(kube);
  for (size_t i = 0; i < brfed.size(); ++i) {
    auto it = known.find(brfed[i].what);
    if (it != known.end()) {
      EXPECT_TRUE(brfed[i].status != kube[i].status || brfed[i].body != kube[i].body)
          << brfed[i].what << ": now the same as kube-apiserver; finding " << it->second
          << " is fixed: drop it here and in docs/apiserver.md";
      continue;
    }
    EXPECT_EQ(brfed[i].status, kube[i].status) << brfed[i].what;
    EXPECT_EQ(brfed[i].body.dump(2), kube[i].body.dump(2)) << brfed[i].what;
  }
}

json ConfigMap(const std::string& name, const json& labels = json::object()) {
  // Sent also when empty: both servers leave an empty map out, as Go's omitempty does (F6).
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", {{"k", name}}}};
}

json VolumeBackup(const std::string& name) {
  return {{"apiVersion", "federation.pingcap.com/v1alpha1"},
          {"kind", "VolumeBackup"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"clusters",
             json::array({{{"k8sClusterName", "a"}, {"tcName", "tc"}, {"tcNamespace", "ns"}}})},
            {"notInSchema", "pruned"}}}};
}

json Backup(const std::string& name) {
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "Backup"},
          {"metadata", {{"name", name}}},
          {"spec", {{"backupType", "full"}, {"notInSchema", "pruned"}}}};
}

const std::string kCm = "/api/v1/namespaces/fid/configmaps";
const std::string kVbk = "/apis/federation.pingcap.com/v1alpha1/namespaces/fid/volumebackups";
const std::string kBk = "/apis/pingcap.com/v1alpha1/namespaces/fid/backups";

void MakeNamespace(Recorder& r) {
  r.Send("create namespace", "POST", "/api/v1/namespaces",
         {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "fid"}}}});
}

TEST_F(FidelityTest, CreateGetAndSchemaPruning) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    r.Send("create configmap", "POST", kCm, ConfigMap("a", {{"app", "x"}}));
    r.Send("get configmap", "GET", kCm + "/a");
    r.Send("create configmap with empty metadata collections and data", "POST", kCm,
           json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e",
               "labels": {}, "annotations": {}, "finalizers": [], "ownerReferences": [],
               "generateName": ""}, "data": {}})"));
    json emptied = VolumeBackup("emptied");
    emptied["metadata"]["annotations"] = json::object();
    emptied["metadata"]["finalizers"] = json::array({"x"});
    r.Send("create volumebackup with a finalizer", "POST", kVbk, emptied);
    r.Send("remove the finalizer: finalizers: []", "PATCH", kVbk + "/emptied",
           {{"metadata", {{"finalizers", json::array()}}}}, "application/merge-patch+json");
    r.Send("create volumebackup (field outside the schema)", "POST", kVbk, VolumeBackup("v"));
    r.Send("get volumebackup", "GET", kVbk + "/v");
    r.Send("create upstream backup (field outside the schema)", "POST", kBk, Backup("b"));
    r.Send("get upstream backup", "GET", kBk + "/b");
    r.Send("get missing", "GET", kCm + "/nope");
  });
  ExpectSame(b, k);
}

TEST_F(FidelityTest, ListWithPaginationAndLabelSelectors) {
  StartBoth();
  std::vector<json> names_per_server;
  std::vector<size_t> pages_per_server;
  auto [b, k] = RunOnBoth([&](Recorder& r) {
    MakeNamespace(r);
    for (int i = 0; i < 5; ++i)
      r.Send("create", "POST", kCm,
             ConfigMap("c" + std::to_string(i), {{"tier", i % 2 ? "odd" : "even"}}));
    // Pages are recorded apart: brfed-apiserver ignores limit (F7), so only the union of the
    // pages is compared.
    Recorder pages(r.client());
    json names = json::array();
    json page = pages.Send("list limit=2", "GET", kCm + "?limit=2");
    size_t count = 1;
    for (;;) {
      for (const json& item : page["items"]) names.push_back(item["metadata"]["name"]);
      std::string next = page["metadata"].value("continue", "");
      if (next.empty() || count > 10) break;
      page = pages.Send("list next page", "GET", kCm + "?limit=2&continue=" + next);
      ++count;
    }
    names_per_server.push_back(names);
    pages_per_server.push_back(count);
    r.Send("list tier=odd", "GET", kCm + "?labelSelector=tier%3Dodd");
    r.Send("list tier!=odd", "GET", kCm + "?labelSelector=tier%21%3Dodd");
    r.Send("list tier in (even)", "GET", kCm + "?labelSelector=tier+in+%28even%29");
    r.Send("list bad selector", "GET", kCm + "?labelSelector=%3D%3D%3D");
  });
  ExpectSame(b, k, {{"list bad selector", "F19"}});
  EXPECT_EQ(names_per_server[0], names_per_server[1]);
  EXPECT_EQ(pages_per_server[1], 3u);  // kube-apiserver: 2 + 2 + 1
  EXPECT_EQ(pages_per_server[0], 1u) << "brfed-apiserver pages now: drop finding F7";
}

TEST_F(FidelityTest, MergePatchAndJsonPatch) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    r.Send("create", "POST", kVbk, VolumeBackup("v"));
    r.Send("merge patch", "PATCH", kVbk + "/v",
           {{"metadata", {{"labels", {{"x", "1"}}}}}, {"spec", {{"clusters", json::array()}}}},
           "application/merge-patch+json");
    r.Send("json patch", "PATCH", kVbk + "/v",
           json::array({{{"op", "add"}, {"path", "/metadata/annotations"}, {"value", {{"a", "b"}}}},
                        {{"op", "replace"}, {"path", "/metadata/labels/x"}, {"value", "2"}}}),
           "application/json-patch+json");
    r.Send("json patch test fails", "PATCH", kVbk + "/v",
           json::array({{{"op", "test"}, {"path", "/metadata/labels/x"}, {"value", "9"}}}),
           "application/json-patch+json");
    r.Send("strategic merge on a custom resource", "PATCH", kVbk + "/v", {{"spec", json::object()}},
           "application/strategic-merge-patch+json");
  });
  ExpectSame(b, k,
             {{"json patch test fails", "F8"}, {"strategic merge on a custom resource", "F9"}});
}

// Numbers as kube-apiserver decodes a custom resource (Go: 1 an int64, 1.0 a float64): a float
// with no fraction passes an integer field and is written back as an integer; sent where the
// same integer is stored, it still moves the generation, every time.
TEST_F(FidelityTest, NumbersAsKubeDecodesThem) {
  StartBoth();
  std::vector<json> written;  // per server: the objects as each write returned them
  auto [b, k] = RunOnBoth([&](Recorder& r) {
    MakeNamespace(r);
    json vbk = VolumeBackup("v");
    vbk["spec"]["template"] =
        json::parse(R"({"snapshotsDeleteRatio": 1, "volumeBackupInitJobMaxActiveSeconds": 600})");
    r.Send("create", "POST", kVbk, vbk);
    auto patch = [&](const std::string& what, const std::string& template_text) {
      json sent = json::parse(R"({"spec": {"template": )" + template_text + "}}");
      return r.Send(what, "PATCH", kVbk + "/v", sent, "application/merge-patch+json");
    };
    json all = json::array();
    all.push_back(
        patch("a number field: 1.0 where 1 is stored", R"({"snapshotsDeleteRatio": 1.0})"));
    all.push_back(patch("the same again", R"({"snapshotsDeleteRatio": 1.0})"));
    all.push_back(patch("1 where 1 is stored: no change", R"({"snapshotsDeleteRatio": 1})"));
    all.push_back(
        patch("an integer field: 600.0", R"({"volumeBackupInitJobMaxActiveSeconds": 600.0})"));
    all.push_back(
        patch("an integer field: 1e3", R"({"volumeBackupInitJobMaxActiveSeconds": 1e3})"));
    all.push_back(patch("a number field: 2.50", R"({"snapshotsDeleteRatio": 2.50})"));
    patch("an integer field: a string", R"({"volumeBackupInitJobMaxActiveSeconds": "x"})");
    all.push_back(r.Send("get", "GET", kVbk + "/v"));
    written.push_back(all);
  });
  ExpectSame(b, k);
  ASSERT_EQ(written.size(), 2u);
  for (const json& all : written) {
    for (const json& o : all) {
      const json& t = o["spec"]["template"];
      EXPECT_TRUE(t["volumeBackupInitJobMaxActiveSeconds"].is_number_integer()) << t.dump();
      EXPECT_EQ(t["snapshotsDeleteRatio"].is_number_float(), t["snapshotsDeleteRatio"] == 2.5)
          << t.dump();
    }
    EXPECT_EQ(all.back()["metadata"]["generation"], 6) << all.back().dump();
  }
}

TEST_F(FidelityTest, StatusWithAndWithoutStatusSubresource) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    json vbk = r.Send("create volumebackup", "POST", kVbk, VolumeBackup("v"));
    vbk["status"] = {{"phase", "Running"}};
    r.Send("put /status (subresource)", "PUT", kVbk + "/v/status", vbk);
    r.Send("status in a main-resource patch is ignored", "PATCH", kVbk + "/v",
           {{"status", {{"phase", "Failed"}}}}, "application/merge-patch+json");
    r.Send("spec in a /status patch is ignored", "PATCH", kVbk + "/v/status",
           {{"spec", {{"clusters", json::array()}}}, {"status", {{"phase", "Complete"}}}},
           "application/merge-patch+json");
    r.Send("create upstream backup", "POST", kBk, Backup("b"));
    r.Send("status through the main resource (no subresource)", "PATCH", kBk + "/b",
           {{"status", {{"phase", "Running"}}}}, "application/merge-patch+json");
    r.Send("/status without the subresource", "PATCH", kBk + "/b/status",
           {{"status", {{"phase", "Failed"}}}}, "application/merge-patch+json");
  });
  ExpectSame(b, k);
}

TEST_F(FidelityTest, ConflictsAndInvalidObjects) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    json cm = r.Send("create", "POST", kCm, ConfigMap("a"));
    r.Send("create again: 409 AlreadyExists", "POST", kCm, ConfigMap("a"));
    json changed = cm;
    changed["data"]["k"] = "changed";
    r.Send("update", "PUT", kCm + "/a", changed);
    r.Send("update with a stale resourceVersion: 409 Conflict", "PUT", kCm + "/a", cm);
    json bad = VolumeBackup("bad");
    bad["spec"]["clusters"] = "not-a-list";
    r.Send("schema type violation: 422", "POST", kVbk, bad);
    json no_spec = VolumeBackup("nospec");
    no_spec.erase("spec");
    r.Send("missing required spec: 422", "POST", kVbk, no_spec);
    r.Send("bad name: 422", "POST", kCm, ConfigMap("Not_A_Name"));
    r.Send("bad and too long a name: two causes", "POST", kCm,
           ConfigMap("a." + std::string(260, 'B')));
    r.Send("a namespace's name is a label: no dots", "POST", "/api/v1/namespaces",
           {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a.b"}}}});
    r.Send("a namespace's name is a label: lower case", "POST", "/api/v1/namespaces",
           {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "Upper"}}}});
  });
  ExpectSame(b, k);
}

TEST_F(FidelityTest, DeleteWithFinalizers) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    json v = VolumeBackup("v");
    v["metadata"]["finalizers"] = {"example.com/hold"};
    r.Send("create with a finalizer", "POST", kVbk, v);
    r.Send("delete: kept, deletionTimestamp set", "DELETE", kVbk + "/v");
    r.Send("get while terminating", "GET", kVbk + "/v");
    r.Send("adding a finalizer while terminating is refused", "PATCH", kVbk + "/v",
           {{"metadata", {{"finalizers", {"example.com/hold", "example.com/more"}}}}},
           "application/merge-patch+json");
    r.Send("drop the finalizer: deleted", "PATCH", kVbk + "/v",
           {{"metadata", {{"finalizers", nullptr}}}}, "application/merge-patch+json");
    r.Send("get after delete", "GET", kVbk + "/v");
    r.Send("create configmap", "POST", kCm, ConfigMap("c"));
    r.Send("delete configmap", "DELETE", kCm + "/c");
  });
  ExpectSame(b, k, {{"adding a finalizer while terminating is refused", "F16"}});
}

// A foreground deletion (what the manager sends to stop a member, issue 18): the object is
// marked and gets the foregroundDeletion finalizer, which the garbage collector removes (neither
// server here runs one), also on an object already being deleted; an unknown policy is a 422
// (finding F24).
TEST_F(FidelityTest, ForegroundDeletionAddsItsFinalizer) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    r.Send("create", "POST", kVbk, VolumeBackup("f"));
    r.Send("an unknown propagationPolicy is refused", "DELETE", kVbk + "/f",
           {{"propagationPolicy", "Sideways"}});
    r.Send("delete in the foreground: kept, with its finalizer", "DELETE", kVbk + "/f",
           {{"propagationPolicy", "Foreground"}});
    r.Send("get while terminating", "GET", kVbk + "/f");
    r.Send("drop the finalizer (the collector's part): deleted", "PATCH", kVbk + "/f",
           {{"metadata", {{"finalizers", nullptr}}}}, "application/merge-patch+json");
    r.Send("get after delete", "GET", kVbk + "/f");
    json held = VolumeBackup("h");
    held["metadata"]["finalizers"] = {"example.com/hold"};
    r.Send("create with a finalizer", "POST", kVbk, held);
    r.Send("delete in the background: kept by its finalizer", "DELETE", kVbk + "/h",
           {{"propagationPolicy", "Background"}});
    r.Send("then in the foreground: the finalizer is added", "DELETE", kVbk + "/h",
           {{"propagationPolicy", "Foreground"}});
  });
  ExpectSame(b, k);
}

TEST_F(FidelityTest, WatchFromResourceVersion) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    json a = r.Send("create a", "POST", kCm, ConfigMap("a"));
    std::string rv = a["metadata"].value("resourceVersion", "");
    r.Send("create b", "POST", kCm, ConfigMap("b", {{"l", "1"}}));
    r.Send("patch a", "PATCH", kCm + "/a", {{"data", {{"k", "2"}}}},
           "application/merge-patch+json");
    r.Send("delete b", "DELETE", kCm + "/b");
    r.Watch("watch from a's resourceVersion",
            kCm + "?watch=true&timeoutSeconds=2&resourceVersion=" + rv);
    r.Watch("watch with a label selector from a's resourceVersion",
            kCm + "?watch=true&timeoutSeconds=2&labelSelector=l&resourceVersion=" + rv);
  });
  ExpectSame(b, k);
}

// A watch from a resourceVersion older than what the server keeps. brfed-apiserver (history of
// --watch-history events) ends it with an ERROR event carrying a 410 Expired Status.
// kube-apiserver v1.37 serves such a watch from its watch cache, which starts after that
// resourceVersion: it answers 200 with the events it holds (from its own start), no 410, even
// with etcd compacting every second (finding F20).
TEST_F(FidelityTest, WatchFromTooOldResourceVersion) {
  StartBoth({"--watch-history", "2"}, {"--compaction-interval", "1s"});
  std::vector<std::pair<long, std::vector<json>>> results;
  for (ApiServer* server : {&brfed_, &kube_}) {
    Recorder r(server->Client());
    MakeNamespace(r);
    r.Send("create", "POST", kCm, ConfigMap("a"));
    for (int i = 0; i < 5; ++i)
      r.Send("patch", "PATCH", kCm + "/a", {{"data", {{"k", std::to_string(i)}}}},
             "application/merge-patch+json");
    WatchEvents events;
    long status = server->Client().Stream(
        kCm + "?watch=true&timeoutSeconds=2&resourceVersion=1",
        [&](const std::string& d) {
          events.Feed(d);
          return true;
        },
        30s);
    results.push_back({status, events.events});
  }
  auto& [brfed_status, brfed_events] = results[0];
  EXPECT_EQ(brfed_status, 200);
  ASSERT_FALSE(brfed_events.empty());
  EXPECT_EQ(brfed_events[0]["type"], "ERROR");
  EXPECT_EQ(brfed_events[0]["object"].value("code", 0), 410);
  EXPECT_EQ(brfed_events[0]["object"].value("reason", ""), "Expired");
  auto& [kube_status, kube_events] = results[1];
  EXPECT_EQ(kube_status, 200);
  ASSERT_FALSE(kube_events.empty());
  for (const json& e : kube_events) EXPECT_NE(e["type"], "ERROR") << e.dump();
  EXPECT_EQ(kube_events.back()["object"]["data"]["k"], "4");
}

// A client that resumes at a resourceVersion the server has not reached: what it sees of a
// data-plane API server restarted without its data (issue 18, finding 1). kube-apiserver
// answers a list asking for a state not older than it (with or without limit, with or without
// resourceVersionMatch) with 504 Timeout and cause ResourceVersionTooLarge (after waiting 3 s
// for its watch cache), and accepts a watch from it with 200 and then stays silent: the changes
// it makes meanwhile are below that version, so none is sent. The lists are how a client tells
// that the server was reset (runtime::WatchMachine checks before it resumes).
TEST_F(FidelityTest, ResumingAheadOfTheServer) {
  StartBoth();
  auto [b, k] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    json a = r.Send("create a", "POST", kCm, ConfigMap("a"));
    const std::string ahead =
        std::to_string(std::stoull(a["metadata"].value("resourceVersion", "0")) + 100000);
    r.Send("list not older than ahead", "GET",
           kCm + "?resourceVersion=" + ahead + "&resourceVersionMatch=NotOlderThan");
    r.Send("list one not older than ahead", "GET",
           kCm + "?limit=1&resourceVersion=" + ahead + "&resourceVersionMatch=NotOlderThan");
    r.Send("list at ahead", "GET", kCm + "?resourceVersion=" + ahead);
    r.Send("list at a's version", "GET",
           kCm + "?resourceVersion=" + a["metadata"].value("resourceVersion", "") +
               "&resourceVersionMatch=NotOlderThan");
    // Changes made while the watch runs: none of them may reach it.
    std::atomic<bool> watching = true;
    std::thread writer([&] {
      HttpClient client = r.client();
      for (int i = 0; watching && i < 100; ++i) {
        client.Request("POST", kCm, ConfigMap("w" + std::to_string(i)).dump(), "application/json");
      }
    });
    r.Watch("watch from ahead", kCm + "?watch=true&timeoutSeconds=3&resourceVersion=" + ahead);
    watching = false;
    writer.join();
  });
  // The message names the version asked for and the server's own: compared without them.
  const std::string too_large = "Timeout: Too large resource version";
  for (auto* steps : {&b, &k}) {
    for (Step& s : *steps) {
      if (!s.body.is_object() || !s.body.contains("message")) continue;
      if (s.body["message"].get<std::string>().rfind(too_large + ": ", 0) == 0) {
        s.body["message"] = too_large;
      }
    }
  }
  ExpectSame(b, k);
  ASSERT_GE(b.size(), 4u);
  EXPECT_EQ(b[2].status, 504);
  EXPECT_EQ(b[2].body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
}

// Bookmarks: sent only when the client allows them, as an object of the watched kind that
// carries nothing but a resourceVersion. kube-apiserver sends its periodic ones about once a
// minute (F21), so both are asked for the one that ends the initial events of a watch list,
// which also carries the annotation k8s.io/initial-events-end.
TEST_F(FidelityTest, BookmarksCarryKindAndResourceVersion) {
  StartBoth({"--bookmark-interval-seconds", "1"});
  std::vector<json> bookmarks;
  for (ApiServer* server : {&brfed_, &kube_}) {
    Recorder r(server->Client());
    MakeNamespace(r);
    r.Send("create", "POST", kCm, ConfigMap("a"));
    WatchEvents events;
    server->Client().Stream(
        kCm +
            "?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&sendInitialEvents=true"
            "&resourceVersionMatch=NotOlderThan",
        [&](const std::string& d) {
          events.Feed(d);
          return true;
        },
        30s);
    json bookmark;  // the first: brfed-apiserver's periodic ones follow it every second
    for (const json& e : events.events) {
      if (e["type"] == "BOOKMARK" && bookmark.is_null()) bookmark = e;
    }
    ASSERT_TRUE(bookmark.is_object()) << server->url;
    EXPECT_FALSE(bookmark["object"]["metadata"].value("resourceVersion", "").empty());
    bookmarks.push_back(Normalize(bookmark));
  }
  EXPECT_EQ(bookmarks[0].dump(2), bookmarks[1].dump(2));
}

// A watch list (sendInitialEvents, what client-go's WatchListClient and kubectl 1.37 send): the
// selected objects as ADDED, the bookmark that ends them, then changes; and the 422s for the
// option combinations the API server forbids.
TEST_F(FidelityTest, WatchListSendsTheStateThenItsEndBookmark) {
  StartBoth();
  auto [brfed, kube] = RunOnBoth([](Recorder& r) {
    MakeNamespace(r);
    r.Send("create a", "POST", kCm, ConfigMap("a", {{"app", "x"}}));
    r.Send("create b", "POST", kCm, ConfigMap("b"));
    r.Send("create c", "POST", kCm, ConfigMap("c", {{"app", "x"}}));
    const std::string list = kCm + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=2";
    r.Watch("watch list", list + "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan" +
                              "&labelSelector=app%3Dx");
    r.Send("no match", "GET", list + "&sendInitialEvents=true");
    // Accepted without allowWatchBookmarks (v1.37 does not insist): the state, no end.
    r.Watch("no bookmarks", kCm +
                                "?watch=true&timeoutSeconds=2&sendInitialEvents=true"
                                "&resourceVersionMatch=NotOlderThan");
    r.Send("match alone", "GET", list + "&resourceVersionMatch=NotOlderThan");
    r.Send("bad match", "GET", list + "&sendInitialEvents=true&resourceVersionMatch=Exact");
  });
  ExpectSame(brfed, kube);
}

// Authorization. kube-apiserver runs RBAC: an identity without a binding gets 403 naming the
// verb and resource, and 200 once a RoleBinding grants it. brfed-apiserver has one token and
// no RBAC: any other token is 401 (finding: no RBAC in brfed-apiserver).
TEST_F(FidelityTest, RbacForbidsUntilBound) {
  StartBoth({}, {"--user", "alice=" + kAliceToken});
  HttpClient alice_kube(kube_.url, kube_.ca_pem, kAliceToken);
  HttpClient alice_brfed(brfed_.url, brfed_.ca_pem, kAliceToken);
  Recorder admin(kube_.Client());
  MakeNamespace(admin);
  HttpResponse forbidden = alice_kube.Request("GET", kCm);
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  json status = json::parse(forbidden.body);
  EXPECT_EQ(status.value("reason", ""), "Forbidden");
  EXPECT_EQ(status["details"].value("kind", ""), "configmaps");
  EXPECT_NE(status.value("message", "").find("User \"alice\" cannot list resource \"configmaps\""),
            std::string::npos)
      << forbidden.body;
  json rule = {{"apiGroups", {""}}, {"resources", {"configmaps"}}, {"verbs", {"list"}}};
  json role = {{"metadata", {{"name", "cm-reader"}}}, {"rules", json::array({rule})}};
  admin.Send("role", "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/fid/roles", role);
  json subject = {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "User"}, {"name", "alice"}};
  json binding = {
      {"metadata", {{"name", "alice-reads"}}},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "cm-reader"}}},
      {"subjects", json::array({subject})}};
  admin.Send("binding", "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/fid/rolebindings",
             binding);
  for (const Step& s : admin.steps) EXPECT_EQ(s.status, 201) << s.what << s.body.dump();
  EXPECT_TRUE(WaitFor([&] { return alice_kube.Request("GET", kCm).status == 200; }, 30s));
  EXPECT_EQ(alice_kube.Request("DELETE", kCm + "/x").status, 403);
  EXPECT_EQ(alice_brfed.Request("GET", kCm).status, 401);
}

// ServiceAccount tokens: TokenRequest issues a token the server then accepts (as the
// ServiceAccount, bound by RBAC like anyone else). brfed-apiserver serves no TokenRequest.
TEST_F(FidelityTest, TokenRequestIssuesAcceptedTokens) {
  StartBoth();
  Recorder admin(kube_.Client());
  MakeNamespace(admin);
  admin.Send("service account", "POST", "/api/v1/namespaces/fid/serviceaccounts",
             {{"metadata", {{"name", "robot"}}}});
  json tr =
      admin.Send("token request", "POST", "/api/v1/namespaces/fid/serviceaccounts/robot/token",
                 {{"apiVersion", "authentication.k8s.io/v1"},
                  {"kind", "TokenRequest"},
                  {"spec", {{"expirationSeconds", 3600}}}});
  ASSERT_EQ(admin.steps.back().status, 201) << admin.steps.back().body.dump();
  std::string token = tr["status"].value("token", "");
  ASSERT_FALSE(token.empty());
  HttpClient robot(kube_.url, kube_.ca_pem, token);
  HttpResponse r = robot.Request("GET", kCm);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("system:serviceaccount:fid:robot"), std::string::npos) << r.body;

  Recorder brfed(brfed_.Client());
  MakeNamespace(brfed);
  brfed.Send("service account", "POST", "/api/v1/namespaces/fid/serviceaccounts",
             {{"metadata", {{"name", "robot"}}}});
  EXPECT_EQ(brfed.steps.back().status, 404) << "brfed-apiserver now serves ServiceAccounts: "
                                            << "update the findings in docs/apiserver.md";
}

}  // namespace
}  // namespace brfed::testing
