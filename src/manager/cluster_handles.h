// ClusterHandles: the manager's DataPlanes — one handle per context of the federation
// kubeconfig (the context name is the k8sClusterName), each with a Client and label-selected
// informers of the member Backups and Restores. The file is watched by polling its content
// (a Secret mount changes by swapping symlinks, which inotify on the file misses): a changed
// file adds, removes or rebuilds handles without a restart; unchanged contexts keep their
// handles and caches. A context that cannot be built disables only that cluster: it stays in
// Names() with no client and a `problem` that the controllers put into status, a log line and
// brfed_data_plane_reachable{cluster} = 0. A file that cannot be read or parsed after start
// keeps the previous handles (logged, counted).
//
// A prober thread checks every built cluster's API server (GET /version) every probe_interval,
// all clusters at once, each probe a single attempt bounded by the probe client's short timeout:
// the next round is the retry. Each cluster's probe runs on a thread of its own, and a round
// waits for its probes at most one probe_interval: a probe still running then (an exec plugin
// that hangs until its timeout) keeps only its own cluster out of the following rounds until it
// ends, and never delays the probes of the others. After `unreachable_after` consecutive failures a
// cluster is unreachable (logged once with the last error; UnreachableError names it to the
// controllers) until a probe succeeds again (logged once). No restart is needed to recover.
//
// A cluster's clients (the main one, the pause client, the probe client) share one credential
// cache and one pool of kept-alive connections, and each probe round first refreshes an exec
// credential that would be due within two rounds (CredentialLookahead): a GC pause never waits
// for an exec plugin or a new connection that a request every probe_interval keeps ready.
//
// Metrics: brfed_data_planes, brfed_data_plane_reachable{cluster} (1 after a successful probe,
// 0 once unreachable or never reached), brfed_data_plane_probe_failures{cluster} (consecutive),
// brfed_federation_kubeconfig_reloads_total{result=success|error}.
//
// Thread-safety: all public methods are safe for concurrent use; Add*Handler only before
// Start. Cluster-change handlers run on the watch thread (or the Start/Reload caller, or a probe
// thread when a cluster becomes unreachable or recovers), without internal locks held. The
// MetricsRegistry and ClientMetrics must outlive the object.
#ifndef BRFED_MANAGER_CLUSTER_HANDLES_H_
#define BRFED_MANAGER_CLUSTER_HANDLES_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "federation/data_planes.h"
#include "kube/client.h"
#include "kube/credentials.h"
#include "kube/kubeconfig.h"
#include "runtime/metrics.h"

namespace brfed::manager {

// Builds the Client for one context; tests substitute fakes. The default is kube::NewClient.
using ClientFactory =
    std::function<Result<std::shared_ptr<kube::Client>>(const kube::RestConfig& config)>;

// Member-cache watches end (and resume, checking that the server still knows our
// resourceVersion) after a random 30-60 s, so that a data plane restarted empty is noticed.
inline constexpr int kMemberWatchTimeoutMinSeconds = 30;

struct ClusterHandlesOptions {
  std::string kubeconfig_path;
  double qps = 50;
  int burst = 100;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds probe_interval{5000};
  // Consecutive failed probes after which a cluster counts as unreachable (at least 1).
  int unreachable_after = 3;
  // Start waits this long (in total) for the member caches of reachable clusters.
  std::chrono::milliseconds initial_sync_timeout{30000};
  runtime::MetricsRegistry* metrics = nullptr;    // required
  kube::ClientMetrics* client_metrics = nullptr;  // optional
};

class ClusterHandles final : public federation::DataPlanes {
 public:
  // `probe_factory` builds the client the prober uses (the manager gives it a short timeout and
  // no retries); when null, the prober uses the cluster's own client.
  ClusterHandles(ClusterHandlesOptions options, ClientFactory factory,
                 ClientFactory probe_factory = nullptr);
  ~ClusterHandles() override;
  ClusterHandles(const ClusterHandles&) = delete;
  ClusterHandles& operator=(const ClusterHandles&) = delete;

  // Reads and parses the file (kInvalidArgument naming the file when it cannot), builds every
  // context, waits (bounded) for the member caches, then starts the watch and probe threads.
  Status Start();
  // Stops the threads and every informer, cancelling plugin runs first. Idempotent.
  void Stop();
  // Kills the exec-plugin runs in progress and fails later ones at once (cached credentials
  // stay usable), so that a stopping manager joins its probe, informer and worker threads
  // without waiting out a hung plugin. Call it when shutdown begins; there is no undoing it.
  void CancelPluginRuns();

  // Reads the file again and applies what changed; true when the set of clusters or a
  // cluster's configuration changed. The watch thread calls it; exposed for tests.
  Result<bool> Reload();
  // One probe round (the prober thread calls it); exposed for tests. Returns when the round's
  // probes have ended, or after probe_interval with the slow ones still running.
  void ProbeAll();

  std::vector<std::string> Names() const override;
  std::shared_ptr<const federation::DataPlane> Get(std::string_view name) const override;
  void AddMemberHandler(const kube::Resource& resource, MemberHandler handler) override;
  void AddClusterChangeHandler(std::function<void()> handler) override;
  std::string UnreachableError(std::string_view name) const override;

 private:
  struct Handle {
    std::shared_ptr<const federation::DataPlane> plane;
    std::shared_ptr<kube::Client> probe_client;           // null when the context cannot be built
    std::shared_ptr<kube::CredentialSource> credentials;  // the cluster's clients share it
    std::string fingerprint;  // of the RestConfig, or of the build error
    bool announced_synced = false;
  };
  // What the prober knows of one cluster; reset when its handle is rebuilt.
  struct ProbeState {
    bool up = false;               // reached, and not unreachable since (the metric's value)
    bool unreachable = false;      // unreachable_after failures in a row, not yet recovered
    int failures = 0;              // consecutive
    std::string last_error;        // of the latest failed probe (kept after recovery)
    bool refresh_failing = false;  // the last refresh ahead of the credential failed
  };
  // What one probe needs, copied out of the handle so that it outlives a rebuild.
  struct ProbeTarget {
    std::string name;
    std::shared_ptr<const federation::DataPlane> plane;
    std::shared_ptr<kube::Client> client;
    std::shared_ptr<kube::CredentialSource> credentials;
  };
  // A cluster's probe thread; `finished` is set when the probe is over (the thread can be
  // joined without waiting).
  struct ProbeRun {
    std::thread thread;
    bool finished = false;
  };
  struct ResourceHandler {
    kube::Resource resource;
    MemberHandler handler;
  };

  // Builds one handle for `context` (informers started).
  Handle Build(const kube::Kubeconfig& config, const std::string& context) const;
  // The federation kubeconfig when its text changed since the last look (nullopt: unchanged);
  // errors are logged and counted once per streak. Holds reload_mu_.
  Result<std::optional<kube::Kubeconfig>> ReadChangedKubeconfig();
  // Rebuilds the handles whose context changed, drops removed ones; true when anything did.
  bool Apply(const kube::Kubeconfig& config);
  // The member informer of `resource` from the cluster's factory, with every member handler.
  std::shared_ptr<runtime::Informer> MemberInformer(runtime::SharedInformerFactory& factory,
                                                    const kube::Resource& resource,
                                                    const std::string& cluster) const;
  // Fires the change handlers for caches that finished their first list since last time.
  void AnnounceSynced();
  void NotifyChanged();
  void WatchLoop();
  void ProbeLoop();
  // Starts `t`'s probe on its own thread; the caller holds probe_runs_mu_.
  void StartProbeLocked(ProbeTarget t);
  // Refreshes the credential ahead, probes, records the result (a probe thread).
  void ProbeOne(const ProbeTarget& t);
  static void StopPlane(const federation::DataPlane& plane);
  // `name`'s probe state, or null when `plane` is no longer its handle's plane. The caller holds
  // mu_.
  ProbeState* ProbeStateLocked(const std::string& name,
                               const std::shared_ptr<const federation::DataPlane>& plane);
  // Folds one probe result into `name`'s state, logs transitions, sets the metrics; true when
  // the cluster became unreachable or recovered.
  bool RecordProbe(const std::string& name,
                   const std::shared_ptr<const federation::DataPlane>& plane, const Status& result);
  // How far ahead of its expiry the prober refreshes an exec credential.
  std::chrono::seconds CredentialLookahead() const;
  // Logs when refreshing `name`'s credential ahead starts or stops failing.
  void RecordCredentialRefresh(const std::string& name,
                               const std::shared_ptr<const federation::DataPlane>& plane,
                               const Status& result);

  ClusterHandlesOptions options_;
  ClientFactory factory_;
  ClientFactory probe_factory_;
  std::vector<ResourceHandler> member_handlers_;
  std::vector<std::function<void()>> change_handlers_;

  runtime::Gauge* planes_gauge_ = nullptr;
  runtime::Gauge* reachable_ = nullptr;
  runtime::Gauge* probe_failures_ = nullptr;
  runtime::Counter* reloads_ = nullptr;

  std::mutex reload_mu_;           // serialises Reload
  std::string last_seen_content_;  // guarded by reload_mu_
  // The last read of the file failed (reported once per streak); guarded by reload_mu_.
  bool read_failed_ = false;
  bool loaded_once_ = false;  // guarded by reload_mu_

  mutable std::mutex mu_;
  std::map<std::string, Handle, std::less<>> handles_;
  std::map<std::string, ProbeState, std::less<>> probes_;  // by cluster; guarded by mu_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread watch_thread_;
  std::thread probe_thread_;
  std::mutex probe_runs_mu_;                    // serialises rounds and Stop over probe_runs_
  std::map<std::string, ProbeRun> probe_runs_;  // by cluster; guarded by probe_runs_mu_
  std::condition_variable probe_ended_;         // a ProbeRun finished
};

}  // namespace brfed::manager

#endif  // BRFED_MANAGER_CLUSTER_HANDLES_H_
