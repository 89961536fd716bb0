#include "manager/cluster_handles.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/labels.h"
#include "core/files.h"
#include "core/log.h"
#include "kube/resource.h"
#include "runtime/informer.h"
#include "runtime/informer_factory.h"

namespace brfed::manager {
namespace {

// Identifies everything in a RestConfig that changes how we talk to the server. Hashed so
// credentials are not kept twice in memory.
std::string Fingerprint(const kube::RestConfig& c) {
  std::string s;
  auto add = [&s](std::string_view v) {
    s.append(v);
    s.push_back('\x1f');
  };
  add(c.server);
  add(c.ca_pem);
  add(c.insecure_skip_tls_verify ? "1" : "0");
  add(c.tls_server_name);
  add(c.client_cert_pem);
  add(c.client_key_pem);
  add(c.bearer_token);
  add(c.token_file);
  add(c.username);
  add(c.password);
  add(c.proxy_url);
  if (c.exec) {
    add(c.exec->api_version);
    add(c.exec->command);
    for (const auto& a : c.exec->args) add(a);
    for (const auto& [k, v] : c.exec->env) {
      add(k);
      add(v);
    }
  }
  return "ok:" + std::to_string(std::hash<std::string>{}(s));
}

Result<std::string> ReadKubeconfigFile(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return InvalidArgument("federation kubeconfig " + path + ": cannot be read");
  return text;
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Cancels the exec-plugin runs of every handle in `handles` (a map of ClusterHandles::Handle).
template <typename Handles>
void CancelPluginRunsOf(const Handles& handles) {
  for (const auto& [name, handle] : handles) {
    if (handle.credentials != nullptr) handle.credentials->Cancel();
  }
}

}  // namespace

ClusterHandles::ClusterHandles(ClusterHandlesOptions options, ClientFactory factory,
                               ClientFactory probe_factory)
    : options_(std::move(options)),
      factory_(std::move(factory)),
      probe_factory_(std::move(probe_factory)) {
  options_.unreachable_after = std::max(1, options_.unreachable_after);
  planes_gauge_ = &options_.metrics->AddGauge(
      "brfed_data_planes", "Contexts in the federation kubeconfig (data-plane clusters)");
  reachable_ = &options_.metrics->AddGauge(
      "brfed_data_plane_reachable",
      "1 when the data plane's API server answered the last probe, 0 once it failed "
      "consecutive probes (see --data-plane-unreachable-after), was never reached or its "
      "context cannot be built",
      {"cluster"});
  probe_failures_ = &options_.metrics->AddGauge(
      "brfed_data_plane_probe_failures",
      "Consecutive failed reachability probes of the data plane's API server", {"cluster"});
  reloads_ = &options_.metrics->AddCounter("brfed_federation_kubeconfig_reloads_total",
                                           "Loads of the federation kubeconfig file by result",
                                           {"result"});
}

ClusterHandles::~ClusterHandles() { Stop(); }

void ClusterHandles::AddMemberHandler(const kube::Resource& resource, MemberHandler handler) {
  member_handlers_.push_back({resource, std::move(handler)});
}

void ClusterHandles::AddClusterChangeHandler(std::function<void()> handler) {
  change_handlers_.push_back(std::move(handler));
}

std::vector<std::string> ClusterHandles::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  names.reserve(handles_.size());
  for (const auto& [name, handle] : handles_) names.push_back(name);
  return names;
}

std::shared_ptr<const federation::DataPlane> ClusterHandles::Get(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handles_.find(name);
  return it == handles_.end() ? nullptr : it->second.plane;
}

std::shared_ptr<runtime::Informer> ClusterHandles::MemberInformer(
    runtime::SharedInformerFactory& factory, const kube::Resource& resource,
    const std::string& cluster) const {
  auto informer = factory.For(resource, std::string(api::kManagedBySelector));
  for (const auto& rh : member_handlers_) {
    if (!rh.resource.SameAs(resource)) continue;
    auto handler = rh.handler;
    auto call = [handler, cluster](const Json& obj) { handler(cluster, obj); };
    informer->AddHandlers({call, [call](const Json&, const Json& obj) { call(obj); }, call});
  }
  return informer;
}

ClusterHandles::Handle ClusterHandles::Build(const kube::Kubeconfig& config,
                                             const std::string& context) const {
  Handle handle;
  auto plane = std::make_shared<federation::DataPlane>();
  plane->name = context;
  auto rest = config.ForContext(context);
  std::shared_ptr<kube::Client> client;
  if (rest.ok()) {
    rest->qps = options_.qps;
    rest->burst = options_.burst;
    handle.fingerprint = Fingerprint(*rest);
    // The cluster's two clients share one token bucket (--kube-client-qps is per API server);
    // the pause client's requests go first in it.
    rest->shared_limiter = std::make_shared<kube::RateLimiter>(options_.qps, options_.burst);
    // They (and the probe client) share one credential cache and one pool of kept-alive
    // connections too. The pause client is used once per backup, inside the GC pause: on its
    // own it would find its exec credential due and its connections closed (libcurl reuses none
    // idle for two minutes; load balancers drop them) every time, and run the plugin and the
    // TCP and TLS handshakes in the pause. The prober's rounds keep both fresh for it.
    handle.credentials =
        kube::NewCredentialSource(*rest, RealClock::Get(), options_.client_metrics);
    rest->shared_credentials = handle.credentials;
    rest->shared_connections = kube::NewConnectionPool();
    auto built = factory_(*rest);
    kube::RestConfig pause_rest = *rest;
    pause_rest.priority = kube::RateLimiter::Priority::kHigh;
    auto pause_client = factory_(pause_rest);
    if (built.ok() && pause_client.ok()) {
      client = *built;
      plane->pause_client = *pause_client;
      plane->limiter = rest->shared_limiter;
      handle.probe_client = client;
      if (probe_factory_) {
        auto probe = probe_factory_(*rest);
        if (probe.ok()) {
          handle.probe_client = *probe;
        } else {  // unlikely: the same config just built; probe with the main client
          log::Warn("probe client cannot be built; probing with the cluster's client",
                    {{"cluster", context}, {"error", probe.status().message()}});
        }
      }
    } else {
      plane->problem = "cluster " + context + " is disabled: " +
                       (built.ok() ? pause_client.status() : built.status()).message();
    }
  } else {
    plane->problem = "cluster " + context + " is disabled: " + rest.status().message();
    handle.fingerprint = "error:" + rest.status().message();
  }
  if (client != nullptr) {
    plane->client = client;
    runtime::InformerOptions defaults;  // all namespaces: members live in each tcNamespace
    defaults.metrics = options_.client_metrics;
    // A data plane restarted without its data accepts the watch that resumes at our
    // resourceVersion and stays silent (kube-apiserver drops the new server's lower versions),
    // so a quiet member cache learns of it only when its watch ends and the resume's version
    // check is answered "too large": watches end within a minute rather than client-go's 5-10.
    defaults.watch_timeout_min_seconds = kMemberWatchTimeoutMinSeconds;
    plane->informers = std::make_shared<runtime::SharedInformerFactory>(client, defaults);
    plane->backups = MemberInformer(*plane->informers, kube::resources::Backup(), context);
    plane->restores = MemberInformer(*plane->informers, kube::resources::Restore(), context);
    plane->informers->Start();
  } else {
    log::Error("data-plane context cannot be used; only this cluster is disabled",
               {{"cluster", context}, {"error", plane->problem}});
  }
  handle.plane = std::move(plane);
  return handle;
}

void ClusterHandles::StopPlane(const federation::DataPlane& plane) {
  if (plane.informers) plane.informers->Stop();
}

Result<bool> ClusterHandles::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  BRFED_ASSIGN_OR_RETURN(std::optional<kube::Kubeconfig> config, ReadChangedKubeconfig());
  if (!config) return false;
  return Apply(*config);
}

Result<std::optional<kube::Kubeconfig>> ClusterHandles::ReadChangedKubeconfig() {
  const std::string& path = options_.kubeconfig_path;
  auto text = ReadKubeconfigFile(path);
  if (!text.ok()) {
    if (!read_failed_) {
      reloads_->WithLabels({"error"}).Inc();
      log::Error("federation kubeconfig cannot be read; keeping the clusters we have",
                 {{"path", path}, {"error", text.status().message()}});
      read_failed_ = true;
    }
    return text.status();
  }
  // After a failed read the file is parsed again even if its text is what we saw last.
  if (loaded_once_ && !read_failed_ && *text == last_seen_content_) {
    return std::optional<kube::Kubeconfig>();
  }
  read_failed_ = false;
  last_seen_content_ = *text;
  auto config = kube::Kubeconfig::Parse(*text, path, DirName(path));
  if (!config.ok()) {
    reloads_->WithLabels({"error"}).Inc();
    log::Error("federation kubeconfig cannot be parsed; keeping the clusters we have",
               {{"path", path}, {"error", config.status().message()}});
    return config.status();
  }
  loaded_once_ = true;
  return std::optional<kube::Kubeconfig>(std::move(config).value());
}

bool ClusterHandles::Apply(const kube::Kubeconfig& config) {
  std::map<std::string, Handle, std::less<>> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = handles_;
  }
  std::map<std::string, Handle, std::less<>> next;
  std::vector<std::shared_ptr<const federation::DataPlane>> retired;
  bool changed = false;
  for (const std::string& context : config.ContextNames()) {
    auto old = current.find(context);
    // Cheap check first: rebuild only when the resolved configuration differs.
    auto rest = config.ForContext(context);
    std::string fingerprint =
        rest.ok() ? (rest->qps = options_.qps, rest->burst = options_.burst, Fingerprint(*rest))
                  : "error:" + rest.status().message();
    if (old != current.end() && old->second.fingerprint == fingerprint) {
      next.emplace(context, old->second);
      continue;
    }
    changed = true;
    if (old != current.end()) retired.push_back(old->second.plane);
    Handle handle = Build(config, context);
    log::Info(old == current.end() ? "data-plane cluster added" : "data-plane cluster updated",
              {{"cluster", context},
               {"server", rest.ok() ? rest->server : std::string()},
               {"problem", handle.plane->problem}});
    reachable_->WithLabels({context}).Set(0);
    probe_failures_->WithLabels({context}).Set(0);
    next.emplace(context, std::move(handle));
  }
  for (const auto& [name, handle] : current) {
    if (next.count(name)) continue;
    changed = true;
    retired.push_back(handle.plane);
    reachable_->WithLabels({name}).Set(0);
    probe_failures_->WithLabels({name}).Set(0);
    log::Info("data-plane cluster removed", {{"cluster", name}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A rebuilt or removed cluster starts its probe history afresh.
    for (auto it = probes_.begin(); it != probes_.end();) {
      auto kept = next.find(it->first);
      auto was = handles_.find(it->first);
      const bool same =
          kept != next.end() && was != handles_.end() && kept->second.plane == was->second.plane;
      it = same ? std::next(it) : probes_.erase(it);
    }
    handles_ = std::move(next);
    planes_gauge_->Set(static_cast<double>(handles_.size()));
  }
  reloads_->WithLabels({"success"}).Inc();
  for (const auto& plane : retired) StopPlane(*plane);
  if (changed) NotifyChanged();
  return changed;
}

void ClusterHandles::NotifyChanged() {
  for (const auto& handler : change_handlers_) handler();
}

void ClusterHandles::AnnounceSynced() {
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, handle] : handles_) {
      const auto& p = *handle.plane;
      if (handle.announced_synced || p.backups == nullptr) continue;
      if (p.backups->HasSynced() && p.restores->HasSynced()) {
        handle.announced_synced = true;
        any = true;
        log::Info("data-plane member caches synced", {{"cluster", name}});
      }
    }
  }
  // VolumeBackups that waited for this cluster's cache can go on now.
  if (any) NotifyChanged();
}

Status ClusterHandles::Start() {
  auto loaded = Reload();
  if (!loaded.ok()) return loaded.status();
  const auto deadline = std::chrono::steady_clock::now() + options_.initial_sync_timeout;
  for (const std::string& name : Names()) {
    auto plane = Get(name);
    if (plane == nullptr || plane->backups == nullptr) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    if (!plane->backups->WaitForSync(left) || !plane->restores->WaitForSync(left)) {
      log::Warn("data-plane member caches not synced yet; carrying on",
                {{"cluster", name},
                 {"waited", std::to_string(options_.initial_sync_timeout.count()) + "ms"}});
    }
  }
  AnnounceSynced();
  ProbeAll();
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  watch_thread_ = std::thread([this] { WatchLoop(); });
  probe_thread_ = std::thread([this] { ProbeLoop(); });
  return Status::Ok();
}

void ClusterHandles::WatchLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    (void)Reload();  // errors are logged and counted inside
    AnnounceSynced();
    lock.lock();
  }
}

void ClusterHandles::ProbeLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.probe_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    ProbeAll();
    lock.lock();
  }
}

void ClusterHandles::ProbeAll() {
  std::vector<ProbeTarget> targets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, handle] : handles_) {
      targets.push_back({name, handle.plane, handle.probe_client, handle.credentials});
    }
  }
  std::unique_lock<std::mutex> lock(probe_runs_mu_);
  for (auto it = probe_runs_.begin(); it != probe_runs_.end();) {
    if (!it->second.finished) {
      ++it;
      continue;
    }
    it->second.thread.join();
    it = probe_runs_.erase(it);
  }
  std::vector<std::string> started;
  for (ProbeTarget& t : targets) {
    if (t.client == nullptr) {
      reachable_->WithLabels({t.name}).Set(0);
    } else if (!probe_runs_.contains(t.name)) {  // else still running: it reports when it ends
      started.push_back(t.name);
      StartProbeLocked(std::move(t));
    }
  }
  probe_ended_.wait_for(lock, options_.probe_interval, [&] {
    for (const std::string& name : started) {
      auto run = probe_runs_.find(name);
      if (run != probe_runs_.end() && !run->second.finished) return false;
    }
    return true;
  });
}

void ClusterHandles::StartProbeLocked(ProbeTarget t) {
  const std::string name = t.name;
  std::thread thread([this, t = std::move(t)] {
    ProbeOne(t);
    {
      std::lock_guard<std::mutex> lock(probe_runs_mu_);
      // Absent once Stop took the runs over to join them.
      if (auto run = probe_runs_.find(t.name); run != probe_runs_.end())
        run->second.finished = true;
    }
    probe_ended_.notify_all();
  });
  probe_runs_[name] = ProbeRun{std::move(thread), false};
}

void ClusterHandles::ProbeOne(const ProbeTarget& t) {
  if (t.credentials != nullptr) {
    RecordCredentialRefresh(t.name, t.plane, t.credentials->RefreshAhead(CredentialLookahead()));
  }
  Status result = t.client->Request("GET", "/version", nullptr).status();
  // Controllers look again at once when a cluster becomes unreachable or recovers.
  if (RecordProbe(t.name, t.plane, result)) NotifyChanged();
}

ClusterHandles::ProbeState* ClusterHandles::ProbeStateLocked(
    const std::string& name, const std::shared_ptr<const federation::DataPlane>& plane) {
  auto handle = handles_.find(name);
  // A plane removed or rebuilt meanwhile must not inherit a result about the old one.
  if (handle == handles_.end() || handle->second.plane != plane) return nullptr;
  return &probes_[name];
}

bool ClusterHandles::RecordProbe(const std::string& name,
                                 const std::shared_ptr<const federation::DataPlane>& plane,
                                 const Status& result) {
  std::lock_guard<std::mutex> lock(mu_);
  ProbeState* found = ProbeStateLocked(name, plane);
  if (found == nullptr) return false;
  ProbeState& state = *found;
  const bool was_unreachable = state.unreachable;
  if (result.ok()) {
    if (state.unreachable) {
      log::Info("data plane reachable again",
                {{"cluster", name}, {"after_failures", std::to_string(state.failures)}});
    } else if (!state.up) {
      log::Info("data plane reachable", {{"cluster", name}});
    }
    state.up = true;
    state.unreachable = false;
    state.failures = 0;
  } else {
    ++state.failures;
    state.last_error = result.ToString();
    if (!state.unreachable && state.failures >= options_.unreachable_after) {
      state.up = false;
      state.unreachable = true;
      log::Warn("data plane unreachable", {{"cluster", name},
                                           {"failures", std::to_string(state.failures)},
                                           {"error", state.last_error}});
    }
  }
  reachable_->WithLabels({name}).Set(state.up ? 1 : 0);
  probe_failures_->WithLabels({name}).Set(state.failures);
  return state.unreachable != was_unreachable;
}

std::chrono::seconds ClusterHandles::CredentialLookahead() const {
  // Two probe rounds (at least a minute) before the request path would find it due.
  auto rounds = std::chrono::duration_cast<std::chrono::seconds>(2 * options_.probe_interval);
  return kube::kExecRefreshMargin + std::max<std::chrono::seconds>(rounds, std::chrono::minutes(1));
}

void ClusterHandles::RecordCredentialRefresh(
    const std::string& name, const std::shared_ptr<const federation::DataPlane>& plane,
    const Status& result) {
  if (result.code() == Code::kCancelled) return;  // shutting down (CancelPluginRuns)
  std::lock_guard<std::mutex> lock(mu_);
  ProbeState* found = ProbeStateLocked(name, plane);
  if (found == nullptr) return;
  ProbeState& state = *found;
  if (!result.ok() && !state.refresh_failing) {
    log::Warn("refreshing the exec credential ahead failed; requests run the plugin when it is due",
              {{"cluster", name}, {"error", result.ToString()}});
  } else if (result.ok() && state.refresh_failing) {
    log::Info("exec credential refreshed ahead again", {{"cluster", name}});
  }
  state.refresh_failing = !result.ok();
}

std::string ClusterHandles::UnreachableError(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = probes_.find(name);
  if (it == probes_.end() || !it->second.unreachable) return {};
  return it->second.last_error;
}

void ClusterHandles::CancelPluginRuns() {
  std::lock_guard<std::mutex> lock(mu_);
  CancelPluginRunsOf(handles_);
}

void ClusterHandles::Stop() {
  std::map<std::string, Handle, std::less<>> handles;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    handles.swap(handles_);
  }
  CancelPluginRunsOf(handles);
  cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (probe_thread_.joinable()) probe_thread_.join();
  std::map<std::string, ProbeRun> runs;
  {
    std::lock_guard<std::mutex> lock(probe_runs_mu_);
    runs.swap(probe_runs_);
  }
  for (auto& [name, run] : runs) run.thread.join();
  for (const auto& [name, handle] : handles) StopPlane(*handle.plane);
}

}  // namespace brfed::manager
