#include "manager/cluster_handles.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "kube/testing/testing_util.h"
#include "kube/testing/unused_client.h"
#include "runtime/informer.h"

namespace brfed::manager {
namespace {

using namespace std::chrono_literals;

// A watch that stays open until cancelled.
class IdleWatch final : public kube::WatchStream {
 public:
  Result<std::optional<kube::WatchEvent>> Next() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return cancelled_; });
    return Status(Code::kCancelled, "cancelled");
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

// Lists the given members of `plural`, then an idle watch; /version answers unless `down`.
class FakeDataPlaneClient final : public kube::testing::UnusedClient {
 public:
  FakeDataPlaneClient(std::string cluster, std::string server)
      : UnusedClient(std::move(cluster)), server_(std::move(server)) {}
  const std::string& server() const { return server_; }
  Result<Json> Get(const kube::Resource&, std::string_view, std::string_view) override {
    return NotFoundError("no");
  }
  Result<Json> List(const kube::Resource& r, std::string_view,
                    const kube::ListOptions& o) override {
    {
      std::lock_guard<std::mutex> lock(selectors_mu_);  // informers list from their own threads
      label_selectors_.push_back(o.label_selector);
    }
    Json list = {{"metadata", {{"resourceVersion", "5"}}}, {"items", Json::array()}};
    if (r.plural == "backups") list["items"] = backups;
    return list;
  }
  Result<std::unique_ptr<kube::WatchStream>> Watch(const kube::Resource&, std::string_view,
                                                   const kube::WatchOptions& o) override {
    {
      std::lock_guard<std::mutex> lock(selectors_mu_);
      watch_timeouts_.push_back(o.timeout_seconds);
    }
    return std::unique_ptr<kube::WatchStream>(std::make_unique<IdleWatch>());
  }
  Result<Json> Request(std::string_view, std::string_view, const Json*) override {
    ++requests_;
    {
      std::unique_lock<std::mutex> lock(hang_mu_);
      hang_cv_.wait(lock, [this] { return !hanging_; });
    }
    if (down) return UnavailableError("connection refused");
    return Json{{"gitVersion", "v1.29.0"}};
  }

  // While hanging, /version does not answer (a frozen server).
  void Hang(bool on) {
    std::lock_guard<std::mutex> lock(hang_mu_);
    hanging_ = on;
    hang_cv_.notify_all();
  }

  std::atomic<bool> down{false};
  Json backups = Json::array();
  int requests() const { return requests_.load(); }
  std::vector<std::string> label_selectors() {
    std::lock_guard<std::mutex> lock(selectors_mu_);
    return label_selectors_;
  }
  std::vector<int> watch_timeouts() {
    std::lock_guard<std::mutex> lock(selectors_mu_);
    return watch_timeouts_;
  }

 private:
  std::string server_;
  std::mutex selectors_mu_;
  std::vector<std::string> label_selectors_;
  std::vector<int> watch_timeouts_;  // guarded by selectors_mu_
  std::mutex hang_mu_;
  std::condition_variable hang_cv_;
  bool hanging_ = false;
  std::atomic<int> requests_{0};
};

std::string Kubeconfig(const std::map<std::string, std::string>& context_to_server) {
  std::string clusters, contexts;
  for (const auto& [name, server] : context_to_server) {
    clusters += "- name: " + name + "-cluster\n  cluster:\n    server: " + server + "\n";
    contexts +=
        "- name: " + name + "\n  context:\n    cluster: " + name + "-cluster\n    user: u\n";
  }
  return "apiVersion: v1\nkind: Config\nclusters:\n" + clusters + "contexts:\n" + contexts +
         "users:\n- name: u\n  user:\n    token: secret-token\n";
}

class ClusterHandlesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "brfed-mgr-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/kubeconfig";
  }
  void TearDown() override {
    handles_.reset();
    std::filesystem::remove_all(dir_);
  }

  void WriteFile(const std::string& content) {
    std::ofstream(path_ + ".tmp", std::ios::trunc) << content;
    std::filesystem::rename(path_ + ".tmp", path_);
  }

  ClusterHandles& Make(std::chrono::milliseconds poll = std::chrono::hours(1),
                       int unreachable_after = 1,
                       std::chrono::milliseconds probe = std::chrono::hours(1)) {
    ClusterHandlesOptions o;
    o.unreachable_after = unreachable_after;
    o.kubeconfig_path = path_;
    o.poll_interval = poll;
    o.probe_interval = probe;
    o.initial_sync_timeout = 10s;
    o.metrics = &metrics_;
    handles_ = std::make_unique<ClusterHandles>(
        o, [this](const kube::RestConfig& c) -> Result<std::shared_ptr<kube::Client>> {
          if (c.server.find("refuse") != std::string::npos) {
            return InvalidArgument("bad server URL " + c.server);
          }
          auto client = std::make_shared<FakeDataPlaneClient>(c.context_name, c.server);
          if (auto it = preset_backups_.find(c.context_name); it != preset_backups_.end()) {
            client->backups = it->second;
          }
          std::lock_guard<std::mutex> lock(mu_);
          built_.push_back(client);
          return std::shared_ptr<kube::Client>(client);
        });
    handles_->AddClusterChangeHandler([this] { ++changes_; });
    return *handles_;
  }

  std::string Metrics() const { return metrics_.Expose(); }
  std::shared_ptr<FakeDataPlaneClient> ClientOf(const std::string& name) {
    auto plane = handles_->Get(name);
    if (plane == nullptr) return nullptr;
    return std::dynamic_pointer_cast<FakeDataPlaneClient>(plane->client);
  }

  std::string dir_, path_;
  runtime::MetricsRegistry metrics_;
  std::unique_ptr<ClusterHandles> handles_;
  std::map<std::string, Json> preset_backups_;
  std::mutex mu_;
  std::vector<std::shared_ptr<FakeDataPlaneClient>> built_;
  std::atomic<int> changes_{0};
};

TEST_F(ClusterHandlesTest, StartBuildsOneSyncedHandlePerContext) {
  WriteFile(Kubeconfig({{"east", "https://east:6443"}, {"west", "https://west:6443"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  EXPECT_EQ(h.Names(), (std::vector<std::string>{"east", "west"}));
  for (const std::string name : {"east", "west"}) {
    auto plane = h.Get(name);
    ASSERT_NE(plane, nullptr);
    EXPECT_EQ(plane->name, name);
    EXPECT_TRUE(plane->problem.empty()) << plane->problem;
    ASSERT_NE(plane->client, nullptr);
    EXPECT_EQ(plane->client->cluster_name(), name);
    EXPECT_TRUE(plane->backups->HasSynced());
    EXPECT_TRUE(plane->restores->HasSynced());
    // Members are selected by our label.
    for (const auto& sel : ClientOf(name)->label_selectors()) {
      EXPECT_EQ(sel, "federation.pingcap.com/managed-by=br-federation-manager");
    }
  }
  EXPECT_EQ(h.Get("north"), nullptr);
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"east\"} 1"), std::string::npos)
      << Metrics();
  EXPECT_NE(Metrics().find("brfed_data_planes 2"), std::string::npos) << Metrics();
}

TEST_F(ClusterHandlesTest, MemberInformersComeFromOneFactoryPerCluster) {
  WriteFile(Kubeconfig({{"east", "https://east:6443"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  auto plane = h.Get("east");
  ASSERT_NE(plane, nullptr);
  ASSERT_NE(plane->informers, nullptr);
  // One informer per resource: asking the factory again hands out the same ones.
  EXPECT_EQ(plane->informers->size(), 2u);
  const std::string selector = "federation.pingcap.com/managed-by=br-federation-manager";
  EXPECT_EQ(plane->informers->For(kube::resources::Backup(), selector), plane->backups);
  EXPECT_EQ(plane->informers->For(kube::resources::Restore(), selector), plane->restores);
  EXPECT_EQ(plane->informers->size(), 2u);
  // One list per resource in this cluster.
  EXPECT_EQ(ClientOf("east")->label_selectors().size(), 2u);
}

// Member watches end within a minute, so that the version check of their resume finds a data
// plane restarted without its data (runtime's InformerTest.ASilentResetIsFoundWhenTheWatchEnds).
TEST_F(ClusterHandlesTest, MemberWatchesEndWithinAMinute) {
  WriteFile(Kubeconfig({{"east", "https://east:6443"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  auto client = ClientOf("east");
  ASSERT_TRUE(kube::testing::WaitFor([&] { return client->watch_timeouts().size() == 2; }));
  for (int seconds : client->watch_timeouts()) {
    EXPECT_GE(seconds, 30);
    EXPECT_LT(seconds, 60);
  }
}

TEST_F(ClusterHandlesTest, MemberEventsReachHandlersWithTheClusterName) {
  preset_backups_["east"] = Json::array(
      {{{"metadata", {{"name", "fed-a"}, {"namespace", "tidb"}, {"resourceVersion", "3"}}}}});
  WriteFile(Kubeconfig({{"east", "https://east:6443"}}));
  auto& h = Make();
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> seen;
  h.AddMemberHandler(kube::resources::Backup(), [&](const std::string& cluster, const Json& m) {
    std::lock_guard<std::mutex> lock(mu);
    seen.emplace_back(cluster, m["metadata"]["name"].get<std::string>());
  });
  int restore_events = 0;
  h.AddMemberHandler(kube::resources::Restore(),
                     [&](const std::string&, const Json&) { ++restore_events; });
  ASSERT_TRUE(h.Start().ok());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, "east");
  EXPECT_EQ(seen[0].second, "fed-a");
  EXPECT_EQ(restore_events, 0);
}

TEST_F(ClusterHandlesTest, ReloadAddsUpdatesAndRemovesOnlyWhatChanged) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}, {"b", "https://b:1"}, {"c", "https://c:1"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  auto a_before = h.Get("a");
  auto b_before = h.Get("b");
  auto c_before = h.Get("c");
  const int changes_before = changes_;

  auto unchanged = h.Reload();
  ASSERT_TRUE(unchanged.ok());
  EXPECT_FALSE(*unchanged);

  WriteFile(Kubeconfig({{"a", "https://a:1"}, {"b", "https://b:2"}, {"d", "https://d:1"}}));
  auto changed = h.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(h.Names(), (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(h.Get("a"), a_before) << "an unchanged context keeps its handle and caches";
  ASSERT_NE(h.Get("b"), b_before);
  EXPECT_EQ(ClientOf("b")->server(), "https://b:2");
  EXPECT_EQ(h.Get("c"), nullptr);
  // A removed cluster's snapshot stays usable by whoever holds it.
  EXPECT_EQ(c_before->name, "c");
  ASSERT_NE(h.Get("d"), nullptr);
  EXPECT_GT(changes_, changes_before);
}

TEST_F(ClusterHandlesTest, ABrokenContextDisablesOnlyThatCluster) {
  std::string text = Kubeconfig({{"good", "https://good:1"}, {"refused", "https://refuse:1"}});
  // A context whose cluster entry does not exist; contexts are listed just before `users:`.
  text.insert(text.find("users:"),
              "- name: dangling\n  context:\n    cluster: nowhere\n    user: u\n");
  WriteFile(text);
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  EXPECT_EQ(h.Names(), (std::vector<std::string>{"dangling", "good", "refused"}));
  auto good = h.Get("good");
  ASSERT_NE(good->client, nullptr);
  EXPECT_TRUE(good->problem.empty());
  auto dangling_plane = h.Get("dangling");
  EXPECT_EQ(dangling_plane->client, nullptr);
  EXPECT_EQ(dangling_plane->backups, nullptr);
  EXPECT_NE(dangling_plane->problem.find("cluster dangling is disabled"), std::string::npos)
      << dangling_plane->problem;
  EXPECT_NE(dangling_plane->problem.find("nowhere"), std::string::npos) << dangling_plane->problem;
  auto refused = h.Get("refused");
  EXPECT_EQ(refused->client, nullptr);
  EXPECT_NE(refused->problem.find("bad server URL"), std::string::npos) << refused->problem;
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"dangling\"} 0"),
            std::string::npos);
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"good\"} 1"), std::string::npos);
}

TEST_F(ClusterHandlesTest, AnUnreadableOrBrokenFileKeepsTheClustersWeHave) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  auto a = h.Get("a");

  WriteFile("clusters: [this is not: a kubeconfig");
  auto broken = h.Reload();
  EXPECT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(path_), std::string::npos) << broken.status().ToString();
  EXPECT_EQ(h.Get("a"), a);

  std::filesystem::remove(path_);
  EXPECT_FALSE(h.Reload().ok());
  EXPECT_EQ(h.Get("a"), a);
  EXPECT_NE(Metrics().find("brfed_federation_kubeconfig_reloads_total{result=\"error\"} 2"),
            std::string::npos)
      << Metrics();

  // The same good content again changes nothing.
  WriteFile(Kubeconfig({{"a", "https://a:1"}}));
  auto back = h.Reload();
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(*back);
  EXPECT_EQ(h.Get("a"), a);
}

// Issue 18, finding 4: garbage, an empty file, random bytes or another kind of YAML is a
// failed reload, never "zero data planes".
TEST_F(ClusterHandlesTest, ATextThatIsNotAKubeconfigKeepsTheClustersWeHave) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  auto a = h.Get("a");
  const std::string bad[] = {"",
                             "\n\n",
                             std::string("\xde\xad\x00\xbe\xef\x01", 6),
                             "hello world\n",
                             "foo: bar\n",
                             "apiVersion: v1\nkind: Secret\n"};
  for (const std::string& text : bad) {
    WriteFile(text);
    EXPECT_FALSE(h.Reload().ok()) << "accepted: " << text;
    EXPECT_EQ(h.Get("a"), a) << text;
  }
}

TEST_F(ClusterHandlesTest, StartFailsClearlyWithoutAUsableFile) {
  auto& h = Make();
  Status missing = h.Start();
  EXPECT_EQ(missing.code(), Code::kInvalidArgument);
  EXPECT_NE(missing.message().find(path_), std::string::npos) << missing.ToString();
  EXPECT_TRUE(h.Names().empty());
}

TEST_F(ClusterHandlesTest, ProbeSetsReachability) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  ClientOf("a")->down = true;
  h.ProbeAll();
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 0"), std::string::npos);
  ClientOf("a")->down = false;
  h.ProbeAll();
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 1"), std::string::npos);
}

TEST_F(ClusterHandlesTest, UnreachableOnlyAfterConsecutiveFailuresAndBackWithoutRestart) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}, {"b", "https://b:1"}}));
  auto& h = Make(std::chrono::hours(1), 3);
  ASSERT_TRUE(h.Start().ok());
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 1"), std::string::npos);
  ClientOf("a")->down = true;
  h.ProbeAll();
  h.ProbeAll();
  // Two failures: still reachable, counted.
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 1"), std::string::npos);
  EXPECT_NE(Metrics().find("brfed_data_plane_probe_failures{cluster=\"a\"} 2"), std::string::npos)
      << Metrics();
  EXPECT_EQ(h.UnreachableError("a"), "");
  const int changes_before = changes_;
  h.ProbeAll();
  EXPECT_EQ(changes_, changes_before + 1) << "controllers look again";
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 0"), std::string::npos);
  EXPECT_NE(h.UnreachableError("a").find("connection refused"), std::string::npos)
      << h.UnreachableError("a");
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"b\"} 1"), std::string::npos);
  EXPECT_EQ(h.UnreachableError("b"), "");
  // A success in between starts the count again.
  ClientOf("a")->down = false;
  h.ProbeAll();
  EXPECT_EQ(changes_, changes_before + 2);
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 1"), std::string::npos);
  EXPECT_NE(Metrics().find("brfed_data_plane_probe_failures{cluster=\"a\"} 0"), std::string::npos);
  EXPECT_EQ(h.UnreachableError("a"), "");
  ClientOf("a")->down = true;
  h.ProbeAll();
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 1"), std::string::npos);
  EXPECT_EQ(h.UnreachableError("a"), "");
}

TEST_F(ClusterHandlesTest, AHungProbeDoesNotDelayTheOtherClusters) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}, {"b", "https://b:1"}}));
  auto& h = Make();
  ASSERT_TRUE(h.Start().ok());
  ClientOf("a")->Hang(true);
  ClientOf("b")->down = true;
  std::thread round([&h] { h.ProbeAll(); });
  // b's failure is recorded while a's probe still hangs.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (h.UnreachableError("b").empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_NE(h.UnreachableError("b"), "");
  EXPECT_NE(Metrics().find("brfed_data_plane_reachable{cluster=\"a\"} 1"), std::string::npos);
  ClientOf("a")->Hang(false);
  round.join();
}

// A probe that hangs (an exec plugin, up to its 60 s timeout) keeps only its own cluster out of
// the rounds: the others are still probed every round and found unreachable in time.
TEST_F(ClusterHandlesTest, AHungProbeDoesNotDelayTheNextRoundsOfTheOtherClusters) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}, {"b", "https://b:1"}}));
  auto& h = Make(std::chrono::hours(1), 3, 50ms);
  ASSERT_TRUE(h.Start().ok());
  ClientOf("a")->Hang(true);
  ClientOf("b")->down = true;
  // Three failed rounds of b while a's probe still hangs.
  EXPECT_TRUE(kube::testing::WaitFor([&] { return !h.UnreachableError("b").empty(); }, 30s))
      << Metrics();
  EXPECT_EQ(h.UnreachableError("a"), "");
  EXPECT_EQ(ClientOf("a")->requests(), 2) << "Start's probe, then the one that hangs";
  ClientOf("a")->Hang(false);
  h.Stop();
}

TEST_F(ClusterHandlesTest, ProbesUseTheProbeClient) {
  WriteFile(Kubeconfig({{"a", "https://a:1"}}));
  ClusterHandlesOptions o;
  o.kubeconfig_path = path_;
  o.poll_interval = std::chrono::hours(1);
  o.probe_interval = std::chrono::hours(1);
  o.metrics = &metrics_;
  o.unreachable_after = 1;
  std::vector<kube::RestConfig> probe_configs;
  auto probe = std::make_shared<FakeDataPlaneClient>("a", "https://a:1");
  probe->down = true;
  ClusterHandles h(
      o,
      [](const kube::RestConfig& c) -> Result<std::shared_ptr<kube::Client>> {
        return std::shared_ptr<kube::Client>(
            std::make_shared<FakeDataPlaneClient>(c.context_name, c.server));
      },
      [&](const kube::RestConfig& c) -> Result<std::shared_ptr<kube::Client>> {
        probe_configs.push_back(c);
        return std::shared_ptr<kube::Client>(probe);
      });
  ASSERT_TRUE(h.Start().ok());
  ASSERT_EQ(probe_configs.size(), 1u);
  EXPECT_EQ(probe_configs[0].context_name, "a");
  EXPECT_NE(h.UnreachableError("a"), "");
  probe->down = false;
  h.ProbeAll();
  EXPECT_EQ(h.UnreachableError("a"), "");
  h.Stop();
}

TEST_F(ClusterHandlesTest, AClustersClientsShareCredentialsAndConnectionsThatProbesRefreshAhead) {
  // Counts its runs per cluster ($1) and issues a token lasting $LIFETIME seconds.
  std::string plugin = dir_ + "/plugin";
  std::ofstream(plugin) << R"sh(#!/bin/sh
n=$(cat "$0.$1" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.$1"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"%s"}}' "$(date -u -d "+$LIFETIME seconds" +%Y-%m-%dT%H:%M:%SZ)"
)sh";
  std::filesystem::permissions(plugin, std::filesystem::perms::owner_all);
  auto user = [&](const std::string& cluster, int lifetime_seconds) {
    return "- name: " + cluster + "\n  user:\n    exec:\n      apiVersion: " +
           "client.authentication.k8s.io/v1\n      command: " + plugin + "\n      args: [" +
           cluster + "]\n      env:\n      - name: LIFETIME\n        value: \"" +
           std::to_string(lifetime_seconds) + "\"\n";
  };
  std::string config = "apiVersion: v1\nkind: Config\nclusters:\n";
  for (const std::string c : {"east", "west"}) {
    config += "- name: " + c + "\n  cluster:\n    server: https://" + c + ":6443\n";
  }
  config += "contexts:\n";
  for (const std::string c : {"east", "west"}) {
    config += "- name: " + c + "\n  context:\n    cluster: " + c + "\n    user: " + c + "\n";
  }
  // Probes come every hour here, so a credential is refreshed ahead when it expires within two
  // hours and a minute: east's lasts ten hours, west's two.
  config += "users:\n" + user("east", 36000) + user("west", 7200);
  WriteFile(config);
  std::vector<kube::RestConfig> configs;
  ClusterHandlesOptions o;
  o.kubeconfig_path = path_;
  o.poll_interval = std::chrono::hours(1);
  o.probe_interval = std::chrono::hours(1);
  o.metrics = &metrics_;
  ClusterHandles h(o, [&](const kube::RestConfig& c) -> Result<std::shared_ptr<kube::Client>> {
    configs.push_back(c);
    return std::shared_ptr<kube::Client>(
        std::make_shared<FakeDataPlaneClient>(c.context_name, c.server));
  });
  ASSERT_TRUE(h.Start().ok());
  // The main client and the pause client of each cluster: one source, one pool per cluster.
  ASSERT_EQ(configs.size(), 4u);
  for (size_t i = 0; i < configs.size(); i += 2) {
    ASSERT_NE(configs[i].shared_credentials, nullptr);
    ASSERT_NE(configs[i].shared_connections, nullptr);
    EXPECT_EQ(configs[i + 1].shared_credentials, configs[i].shared_credentials);
    EXPECT_EQ(configs[i + 1].shared_connections, configs[i].shared_connections);
  }
  EXPECT_NE(configs[0].shared_credentials, configs[2].shared_credentials);
  EXPECT_NE(configs[0].shared_connections, configs[2].shared_connections);
  auto runs = [&](const std::string& cluster) {
    std::ifstream in(plugin + "." + cluster);
    int n = 0;
    in >> n;
    return n;
  };
  // The fake clients never ask for a credential: every run is the prober's, and Start probed
  // once with nothing cached.
  EXPECT_EQ(runs("east"), 1);
  EXPECT_EQ(runs("west"), 1);
  h.ProbeAll();
  EXPECT_EQ(runs("east"), 1);  // ten hours left
  EXPECT_EQ(runs("west"), 2);  // two hours left: due for the prober
  h.ProbeAll();
  EXPECT_EQ(runs("east"), 1);
  EXPECT_EQ(runs("west"), 3);
  h.Stop();
}

// A pod has terminationGracePeriodSeconds (30 s by default) to stop; a hung exec plugin must not
// hold Stop for its own 60 s timeout.
TEST_F(ClusterHandlesTest, StopKillsAHungPluginRunInsteadOfWaitingItOut) {
  // The first run issues a token lasting 30 s, so every probe round refreshes it ahead; the
  // second run leaves a mark and hangs.
  std::string plugin = dir_ + "/plugin";
  std::ofstream(plugin) << R"sh(#!/bin/sh
n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.count"
if [ $n -ge 2 ]; then exec sleep 600; fi
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"%s"}}' "$(date -u -d "+30 seconds" +%Y-%m-%dT%H:%M:%SZ)"
)sh";
  std::filesystem::permissions(plugin, std::filesystem::perms::owner_all);
  WriteFile(
      "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: "
      "https://a:1\ncontexts:\n- name: a\n  context:\n    cluster: a\n    user: a\n"
      "users:\n- name: a\n  user:\n    exec:\n      apiVersion: "
      "client.authentication.k8s.io/v1\n      command: " +
      plugin + "\n");
  auto& h = Make(std::chrono::hours(1), 1, 50ms);
  ASSERT_TRUE(h.Start().ok());
  auto runs = [&] {
    std::ifstream in(plugin + ".count");
    int n = 0;
    in >> n;
    return n;
  };
  ASSERT_TRUE(kube::testing::WaitFor([&] { return runs() >= 2; }, 30s))
      << "the prober never refreshed ahead";
  auto stopped = std::async(std::launch::async, [&] { h.Stop(); });
  // Well inside the plugin's 60 s timeout: the run was killed, not waited out.
  EXPECT_EQ(stopped.wait_for(30s), std::future_status::ready) << "Stop waited for the plugin";
  stopped.get();
  EXPECT_EQ(runs(), 2);
}

// Kubernetes updates a Secret volume by pointing the `..data` symlink at a new directory; the
// file name we were given stays a symlink into it.
TEST_F(ClusterHandlesTest, WatchThreadFollowsASecretMountSymlinkSwap) {
  namespace fs = std::filesystem;
  fs::create_directories(dir_ + "/mount/..v1");
  std::ofstream(dir_ + "/mount/..v1/kubeconfig") << Kubeconfig({{"a", "https://a:1"}});
  fs::create_directory_symlink("..v1", dir_ + "/mount/..data");
  fs::create_symlink("..data/kubeconfig", dir_ + "/mount/kubeconfig");
  path_ = dir_ + "/mount/kubeconfig";
  auto& h = Make(20ms);
  ASSERT_TRUE(h.Start().ok());
  ASSERT_EQ(h.Names(), (std::vector<std::string>{"a"}));

  fs::create_directories(dir_ + "/mount/..v2");
  std::ofstream(dir_ + "/mount/..v2/kubeconfig")
      << Kubeconfig({{"a", "https://a:1"}, {"b", "https://b:1"}});
  fs::create_directory_symlink("..v2", dir_ + "/mount/..data_tmp");
  fs::rename(dir_ + "/mount/..data_tmp", dir_ + "/mount/..data");
  fs::remove_all(dir_ + "/mount/..v1");

  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (h.Names().size() != 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(h.Names(), (std::vector<std::string>{"a", "b"}));
  // The new cluster's caches sync and the controllers hear about it.
  while (!(h.Get("b") && h.Get("b")->backups->HasSynced()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(h.Get("b")->backups->HasSynced());
}

}  // namespace
}  // namespace brfed::manager
