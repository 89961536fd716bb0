#include "sim/simulator.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/version.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "runtime/informer.h"
#include "sim/audit.h"
#include "sim/steps.h"

namespace brfed::sim {

Result<ClusterEndpoint> ParseClusterFlag(std::string_view flag) {
  size_t eq = flag.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 >= flag.size()) {
    return InvalidArgument("--cluster \"" + std::string(flag) +
                           "\": want NAME=KUBECONFIG[:CONTEXT]");
  }
  ClusterEndpoint ep;
  ep.name = std::string(flag.substr(0, eq));
  std::string rest(flag.substr(eq + 1));
  // A context suffix is the part after the last ':' when it holds no '/'.
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    ep.context = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  ep.kubeconfig = rest;
  if (ep.kubeconfig.empty()) {
    return InvalidArgument("--cluster \"" + std::string(flag) + "\": empty kubeconfig path");
  }
  return ep;
}

Result<kube::RestConfig> ClusterClientConfig(const ClusterEndpoint& endpoint) {
  auto config = kube::ResolveRestConfig(endpoint.kubeconfig, endpoint.context);
  if (!config.ok()) {
    return Status(config.status().code(),
                  "cluster " + endpoint.name + ": " + config.status().message());
  }
  config->user_agent = std::string("tidb-operator-sim/") + Version();
  config->qps = 0;  // no client-side rate limit (see the header)
  return config;
}

namespace {

struct ClusterRuntime {
  ClusterEndpoint endpoint;
  std::shared_ptr<kube::Client> client;
  std::unique_ptr<runtime::Informer> backups;
  std::unique_ptr<runtime::Informer> restores;
  std::unique_ptr<runtime::Informer> tidbclusters;
  // Learnt from the first status write: does the CRD have a status subresource?
  std::optional<bool> backup_status_subresource;
  std::optional<bool> restore_status_subresource;
};

// A member's queue key "<cluster index>|<B or R>|<namespace>/<name>", taken apart.
struct QueueKey {
  size_t index;
  bool backup;  // B; R = a Restore
  ObjectKey object;
};
QueueKey ParseQueueKey(const std::string& key) {
  const size_t bar = key.find('|');
  return {std::stoul(key.substr(0, bar)), key[bar + 1] == 'B',
          ObjectKey::Parse(key.substr(bar + 3))};
}

// Kubernetes resourceVersions are opaque, but every server we meet uses integers; an
// unparsable version never counts as newer.
uint64_t RvOf(const Json& obj) {
  std::string rv = JsonStringAt(obj, {"metadata", "resourceVersion"});
  uint64_t v = 0;
  std::from_chars(rv.data(), rv.data() + rv.size(), v);
  return v;
}

// Whether `written` (our last write of an object, kept in latest_) is newer than what the cache
// shows. Only for the same object (uid): a data plane restarted without its data counts its
// resourceVersions from 1 again, so the old object's higher version would hide the new object
// of the same name for ever (chaos seeds 4102, 4131, 4136: members the simulator never stepped).
bool Refused(const Status& status) {
  const int http = status.http_status();
  return http >= 400 && http < 500 && http != 409 && http != 429;
}

bool OurNewerWrite(const Json& written, const Json& cached) {
  return JsonStringAt(written, {"metadata", "uid"}) == JsonStringAt(cached, {"metadata", "uid"}) &&
         RvOf(written) > RvOf(cached);
}

}  // namespace

class Simulator::Impl {
 public:
  Impl(SimulatorOptions options, Clock* clock)
      : options_(std::move(options)), clock_(clock), model_(options_.topology, options_.timing) {
    for (const Fault& f : options_.faults) model_.AddFault(f);
  }
  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  int admin_port() const { return admin_port_; }

 private:
  // Queue keys are "<cluster index>|<B or R>|<namespace>/<name>"; each cluster has its own
  // queue and worker, so that a data plane whose API server does not answer holds up only its
  // own members.
  void Enqueue(const std::string& key, Duration delay);
  void EnqueueAll();
  void Worker(size_t index);
  // Moves the keys of cluster `index` that are due into `ready` (once each), waiting until one
  // is when `ready` is empty; false once stopping.
  bool TakeDue(size_t index, std::vector<std::string>& ready);
  // Whether the member behind a queue key may end a GC pause (steps.h).
  bool MayEndPause(const std::string& key);
  void Ticker();  // PD keep-alive and TTL expiry, once a second
  void Reconcile(const std::string& key);
  // One step of a member and its writes; true when it wrote and the member steps again. Called
  // with `lock` (on mu_) held; releases it around every API call.
  bool StepOnce(const std::string& key, size_t index, bool backup, Json& obj,
                std::unique_lock<std::mutex>& lock);
  // After an API call made without mu_: whether `obj` is still the object the informer of
  // `index` holds under its name (not deleted, not replaced), so that what the call left to do
  // may be kept for it. Caller holds mu_.
  bool StillCurrent(size_t index, bool backup, const Json& obj);
  // The TidbCluster a member names, from the cache or our own newer write.
  std::optional<Json> LatestTidbCluster(size_t index, const std::string& tc_key,
                                        const std::string& ns, const std::string& name);
  bool AuditConditionOf(const ClusterRuntime& c, bool backup, const Json& obj,
                        const MemberWrite& w);
  void RecordCondition(const ClusterRuntime& c, bool backup, const Json& obj,
                       const Condition& cond);
  // The admin endpoint's routes.
  void AdminState(httplib::Response& res);
  void AdminAddFault(const httplib::Request& req, httplib::Response& res);
  void AdminRemoveFaults(const httplib::Request& req, httplib::Response& res);
  Result<Json> WriteMember(ClusterRuntime& c, bool backup, Json obj, const MemberWrite& w);
  void FlushAudit();  // model events -> audit log; caller holds mu_
  void AddHandlers(size_t index, runtime::Informer& inf, char kind);
  Status StartAdmin();

  SimulatorOptions options_;
  Clock* clock_;
  // model_, latest_, unwritten_, audit flushing. Never held across an API call: a data plane
  // that does not answer must not stop the other clusters' members or the admin endpoint.
  std::mutex mu_;
  Model model_;
  std::unique_ptr<AuditLog> audit_;
  std::vector<std::unique_ptr<ClusterRuntime>> clusters_;
  std::map<std::string, Json> latest_;  // last object we wrote, per queue key / TidbCluster
  // Step outputs whose write or TidbCluster patch failed, per queue key. The step already moved
  // the model on, so stepping again may not produce the write: it is retried as it was.
  struct PendingStep {
    StepOutput out;
    bool condition_audited = false;  // its condition is in the audit log already
  };
  std::map<std::string, PendingStep> unwritten_;

  std::mutex qmu_;
  std::condition_variable qcv_;
  std::vector<std::map<std::string, SteadyTime>> due_;  // per cluster index: key -> due time
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // one per cluster
  std::thread ticker_;

  std::unique_ptr<httplib::Server> admin_;
  std::thread admin_thread_;
  int admin_port_ = 0;
  bool started_ = false;
};

namespace {

// The topology's TidbCluster in one cluster, created if absent (with its namespace).
Status EnsureTidbCluster(kube::Client& client, const std::string& cluster,
                         const ClusterTopology& topo) {
  auto existing = client.Get(kube::resources::TidbCluster(), topo.tc_namespace, topo.tc_name);
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != Code::kNotFound) {
    return Status(existing.status().code(),
                  "cluster " + cluster + ": get TidbCluster: " + existing.status().message());
  }
  Json ns = {
      {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", topo.tc_namespace}}}};
  (void)client.Create(kube::resources::Namespace(), "", ns);  // may exist already
  auto created =
      client.Create(kube::resources::TidbCluster(), topo.tc_namespace, BuildTidbCluster(topo));
  if (!created.ok() && created.status().code() != Code::kAlreadyExists) {
    return Status(created.status().code(),
                  "cluster " + cluster + ": create TidbCluster: " + created.status().message());
  }
  // With a status subresource the create drops .status; write it separately.
  if (created.ok() && JsonAt(*created, {"status", "tikv", "stores"}) == nullptr) {
    Json with_status = *created;
    with_status["status"] = BuildTidbCluster(topo)["status"];
    auto st = client.UpdateStatus(kube::resources::TidbCluster(), with_status);
    if (!st.ok()) {
      return Status(st.status().code(),
                    "cluster " + cluster + ": write TidbCluster status: " + st.status().message());
    }
  }
  log::Info("created TidbCluster",
            {{"cluster", cluster}, {"object", topo.tc_namespace + "/" + topo.tc_name}});
  return Status::Ok();
}

// A client for one cluster, its TidbCluster, and (not yet started) informers.
Result<std::unique_ptr<ClusterRuntime>> ConnectCluster(const ClusterEndpoint& ep,
                                                       const ClusterTopology& topo) {
  BRFED_ASSIGN_OR_RETURN(kube::RestConfig config, ClusterClientConfig(ep));
  auto client = kube::NewClient(config);
  if (!client.ok()) {
    return Status(client.status().code(), "cluster " + ep.name + ": " + client.status().message());
  }
  auto c = std::make_unique<ClusterRuntime>();
  c->endpoint = ep;
  c->client = *client;
  BRFED_RETURN_IF_ERROR(EnsureTidbCluster(*c->client, ep.name, topo));
  c->backups = std::make_unique<runtime::Informer>(c->client, kube::resources::Backup(), "");
  c->restores = std::make_unique<runtime::Informer>(c->client, kube::resources::Restore(), "");
  c->tidbclusters =
      std::make_unique<runtime::Informer>(c->client, kube::resources::TidbCluster(), "");
  return c;
}

}  // namespace

Status Simulator::Impl::Start() {
  BRFED_ASSIGN_OR_RETURN(audit_, AuditLog::Open(options_.audit_log, clock_));
  for (const ClusterEndpoint& ep : options_.clusters) {
    const ClusterTopology* topo = options_.topology.Find(ep.name);
    if (topo == nullptr) return InvalidArgument("cluster " + ep.name + ": not in the topology");
    BRFED_ASSIGN_OR_RETURN(std::unique_ptr<ClusterRuntime> c, ConnectCluster(ep, *topo));
    clusters_.push_back(std::move(c));
  }
  for (size_t i = 0; i < clusters_.size(); ++i) {
    AddHandlers(i, *clusters_[i]->backups, 'B');
    AddHandlers(i, *clusters_[i]->restores, 'R');
    AddHandlers(i, *clusters_[i]->tidbclusters, 'T');
  }
  due_.resize(clusters_.size());
  for (size_t i = 0; i < clusters_.size(); ++i) workers_.emplace_back([this, i] { Worker(i); });
  ticker_ = std::thread([this] { Ticker(); });
  started_ = true;
  for (auto& c : clusters_) {
    c->backups->Start();
    c->restores->Start();
    c->tidbclusters->Start();
  }
  for (auto& c : clusters_) {
    for (runtime::Informer* inf : {c->backups.get(), c->restores.get(), c->tidbclusters.get()}) {
      if (!inf->WaitForSync(std::chrono::seconds(30))) {
        return UnavailableError("cluster " + c->endpoint.name + ": cannot list " +
                                inf->resource().plural + " (is the CRD installed?)");
      }
    }
  }
  if (!options_.admin_addr.empty()) BRFED_RETURN_IF_ERROR(StartAdmin());
  log::Info("tidb-operator-sim started", {{"clusters", std::to_string(clusters_.size())}});
  return Status::Ok();
}

void Simulator::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(qmu_);
    if (stopping_) return;
    stopping_ = true;
  }
  qcv_.notify_all();
  if (admin_) admin_->stop();
  if (admin_thread_.joinable()) admin_thread_.join();
  for (auto& c : clusters_) {
    for (auto* inf : {c->backups.get(), c->restores.get(), c->tidbclusters.get()}) {
      if (inf != nullptr) inf->Stop();
    }
  }
  for (std::thread& w : workers_) w.join();
  if (ticker_.joinable()) ticker_.join();
}

void Simulator::Impl::AddHandlers(size_t index, runtime::Informer& inf, char kind) {
  auto key_of = [index, kind](const Json& obj) {
    return std::to_string(index) + "|" + kind + "|" + JsonStringAt(obj, {"metadata", "namespace"}) +
           "/" + JsonStringAt(obj, {"metadata", "name"});
  };
  runtime::InformerHandlers h;
  if (kind == 'T') {
    // A TidbCluster change (recoveryMode, annotations) concerns the cluster's restores.
    auto all_restores = [this, index](const Json&) {
      for (const auto& r : clusters_[index]->restores->cache().List()) {
        Enqueue(std::to_string(index) + "|R|" + JsonStringAt(*r, {"metadata", "namespace"}) + "/" +
                    JsonStringAt(*r, {"metadata", "name"}),
                model_.timing().reaction);
      }
    };
    h.on_add = all_restores;
    h.on_update = [all_restores](const Json&, const Json& n) { all_restores(n); };
    inf.AddHandlers(std::move(h));
    return;
  }
  h.on_add = [this, key_of](const Json& obj) { Enqueue(key_of(obj), model_.timing().reaction); };
  // A member the watch saw deleted went through its deletion, our part of it included (the
  // garbage collector's and the cleaner's); one only a relist missed vanished with its data
  // plane's data, and the audit log says so (member_vanished): the pause its init job held
  // went with it, and so did whatever its jobs did while we had not relisted yet (a snapshot
  // of a member that is gone is part of no backup that can complete).
  auto forget = [this, key_of, index, kind](const Json& obj, std::string_view why) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string member = MemberKey(clusters_[index]->endpoint.name, obj);
    if (kind == 'B') {
      if (why == kPauseGoneWithItsMember) {
        model_.Audit({{"event", "member_vanished"},
                      {"cluster", clusters_[index]->endpoint.name},
                      {"owner", member}});
      }
      model_.ForgetBackup(member, clock_->Now(), why);
    } else {
      model_.ForgetRestore(member);
    }
    latest_.erase(key_of(obj));
    unwritten_.erase(key_of(obj));
    FlushAudit();
  };
  // A relist that finds another object under a member's name (created again while we were not
  // looking: the manager did not see the first one before its data plane lost it) reports an
  // update, not a deletion; the first one vanished all the same.
  h.on_update = [this, key_of, forget](const Json& old, const Json& obj) {
    if (JsonStringAt(old, {"metadata", "uid"}) != JsonStringAt(obj, {"metadata", "uid"})) {
      forget(old, kPauseGoneWithItsMember);
    }
    Enqueue(key_of(obj), model_.timing().reaction);
  };
  h.on_delete = [forget](const Json& obj) { forget(obj, "owner deleted"); };
  h.on_delete_unseen = [forget](const Json& obj) { forget(obj, kPauseGoneWithItsMember); };
  inf.AddHandlers(std::move(h));
}

void Simulator::Impl::Enqueue(const std::string& key, Duration delay) {
  SteadyTime at = clock_->Steady() + std::chrono::duration_cast<SteadyTime::duration>(delay);
  const size_t index = std::stoul(key.substr(0, key.find('|')));
  {
    std::lock_guard<std::mutex> lock(qmu_);
    if (index >= due_.size()) return;
    auto [it, inserted] = due_[index].emplace(key, at);
    if (!inserted && at < it->second) it->second = at;
  }
  qcv_.notify_all();  // the workers share the condition variable: wake the one it is for
}

void Simulator::Impl::EnqueueAll() {
  for (size_t i = 0; i < clusters_.size(); ++i) {
    for (auto [inf, kind] : {std::pair{clusters_[i]->backups.get(), 'B'},
                             std::pair{clusters_[i]->restores.get(), 'R'}}) {
      for (const auto& o : inf->cache().List()) {
        Enqueue(std::to_string(i) + "|" + kind + "|" + JsonStringAt(*o, {"metadata", "namespace"}) +
                    "/" + JsonStringAt(*o, {"metadata", "name"}),
                Duration(0));
      }
    }
  }
}

bool Simulator::Impl::TakeDue(size_t index, std::vector<std::string>& ready) {
  std::unique_lock<std::mutex> lock(qmu_);
  while (!stopping_) {
    SteadyTime now = clock_->Steady();
    std::optional<SteadyTime> wake;
    for (auto it = due_[index].begin(); it != due_[index].end();) {
      if (it->second <= now) {
        if (std::find(ready.begin(), ready.end(), it->first) == ready.end()) {
          ready.push_back(it->first);
        }
        it = due_[index].erase(it);
      } else {
        wake = std::min(wake.value_or(it->second), it->second);
        ++it;
      }
    }
    if (!ready.empty()) return true;
    if (wake) {
      qcv_.wait_for(lock, *wake - now);
    } else {
      qcv_.wait(lock);
    }
  }
  return false;
}

bool Simulator::Impl::MayEndPause(const std::string& key) {
  const auto [index, backup, object_key] = ParseQueueKey(key);
  if (!backup || index >= clusters_.size()) return false;
  auto cached = clusters_[index]->backups->cache().Get(object_key);
  return cached != nullptr && sim::MayEndPause(*cached);
}

void Simulator::Impl::Worker(size_t index) {
  std::vector<std::string> ready;  // due, in the order they became due; not yet stepped
  while (TakeDue(index, ready)) {
    // One member at a time, looking again for newly due ones after each: a member that may
    // end a GC pause goes before the others (steps.h, MayEndPause).
    auto next = std::find_if(ready.begin(), ready.end(),
                             [this](const std::string& key) { return MayEndPause(key); });
    if (next == ready.end()) next = ready.begin();
    const std::string key = *next;
    ready.erase(next);
    Reconcile(key);
  }
}

void Simulator::Impl::Ticker() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      model_.Advance(clock_->Now());
      FlushAudit();
    }
    std::unique_lock<std::mutex> lock(qmu_);
    const SteadyTime next_tick = clock_->Steady() + std::chrono::seconds(1);
    while (!stopping_ && clock_->Steady() < next_tick) {
      qcv_.wait_for(lock, next_tick - clock_->Steady());
    }
    if (stopping_) return;
  }
}

void Simulator::Impl::FlushAudit() {
  for (const Json& e : model_.TakeAudit()) audit_->Append(e);
}

Result<Json> Simulator::Impl::WriteMember(ClusterRuntime& c, bool backup, Json obj,
                                          const MemberWrite& w) {
  const kube::Resource& res = backup ? kube::resources::Backup() : kube::resources::Restore();
  std::optional<bool>& status_sub =
      backup ? c.backup_status_subresource : c.restore_status_subresource;
  for (int attempt = 0; attempt < 5; ++attempt) {
    Json next = obj;
    if (!ApplyMemberWrite(backup ? MemberKind::kBackup : MemberKind::kRestore, next, w,
                          clock_->Now())) {
      return obj;
    }
    bool status_changed = next.value("status", Json()) != obj.value("status", Json());
    bool meta_changed = next["metadata"] != obj["metadata"];
    Result<Json> updated = obj;
    // Upstream CRDs have no status subresource (the operator writes whole objects); CRDs that
    // add one drop .status on Update, so status then goes through UpdateStatus.
    if (status_sub.value_or(false)) {
      if (meta_changed) updated = c.client->Update(res, next);
      if (updated.ok() && status_changed) {
        Json with_status = meta_changed ? *updated : next;
        with_status["status"] = next["status"];
        updated = c.client->UpdateStatus(res, with_status);
      }
    } else {
      updated = c.client->Update(res, next);
      if (updated.ok() && status_changed &&
          updated->value("status", Json()) != next.value("status", Json())) {
        status_sub = true;
        Json with_status = *updated;
        with_status["status"] = next["status"];
        updated = c.client->UpdateStatus(res, with_status);
      } else if (updated.ok() && status_changed) {
        status_sub = false;
      }
    }
    if (updated.ok()) return *updated;
    if (updated.status().code() != Code::kConflict) return updated.status();
    BRFED_ASSIGN_OR_RETURN(obj, c.client->Get(res, JsonStringAt(obj, {"metadata", "namespace"}),
                                              JsonStringAt(obj, {"metadata", "name"})));
  }
  return Status(Code::kConflict, "still conflicting after 5 attempts");
}

std::optional<Json> Simulator::Impl::LatestTidbCluster(size_t index, const std::string& tc_key,
                                                       const std::string& ns,
                                                       const std::string& name) {
  auto tc_cached = clusters_[index]->tidbclusters->cache().Get(ObjectKey{ns, name});
  std::optional<Json> tc;
  if (tc_cached != nullptr) tc = *tc_cached;
  if (auto it = latest_.find(tc_key); it != latest_.end() && tc && OurNewerWrite(it->second, *tc)) {
    tc = it->second;
  }
  return tc;
}

void Simulator::Impl::RecordCondition(const ClusterRuntime& c, bool backup, const Json& obj,
                                      const Condition& cond) {
  const std::string& cluster = c.endpoint.name;
  const std::string ns = JsonStringAt(obj, {"metadata", "namespace"});
  const std::string name = JsonStringAt(obj, {"metadata", "name"});
  audit_->Append({{"event", "condition"},
                  {"kind", backup ? "Backup" : "Restore"},
                  {"cluster", cluster},
                  {"namespace", ns},
                  {"name", name},
                  {"owner", MemberKey(cluster, obj)},
                  {"type", cond.type},
                  {"status", cond.status},
                  {"reason", cond.reason},
                  {"message", cond.message},
                  {"phase", JsonStringAt(obj, {"status", "phase"})}});
  log::Info("condition written", {{"cluster", cluster},
                                  {"object", ObjectKey{ns, name}.String()},
                                  {"kind", backup ? "Backup" : "Restore"},
                                  {"type", cond.type},
                                  {"status", cond.status},
                                  {"reason", cond.reason}});
}

bool Simulator::Impl::StillCurrent(size_t index, bool backup, const Json& obj) {
  runtime::Informer& inf = backup ? *clusters_[index]->backups : *clusters_[index]->restores;
  auto cached = inf.cache().Get(ObjectKey{JsonStringAt(obj, {"metadata", "namespace"}),
                                          JsonStringAt(obj, {"metadata", "name"})});
  return cached != nullptr &&
         JsonStringAt(*cached, {"metadata", "uid"}) == JsonStringAt(obj, {"metadata", "uid"});
}

// The write's condition goes into the audit log when the write is sent, not when it is answered:
// once the API server has it, the manager may act on it and another data plane's worker may log
// the effect before this worker relocks, and the audit's order must follow causes (the checker
// once read a restore-data before the TikvComplete that caused it). Not when the write would
// change nothing. True when audited.
bool Simulator::Impl::AuditConditionOf(const ClusterRuntime& c, bool backup, const Json& obj,
                                       const MemberWrite& w) {
  if (!w.condition) return false;
  Json preview = obj;
  if (!ApplyMemberWrite(backup ? MemberKind::kBackup : MemberKind::kRestore, preview, w,
                        clock_->Now())) {
    return false;
  }
  RecordCondition(c, backup, preview, *w.condition);  // as it will be persisted
  return true;
}

bool Simulator::Impl::StepOnce(const std::string& key, size_t index, bool backup, Json& obj,
                               std::unique_lock<std::mutex>& lock) {
  ClusterRuntime& c = *clusters_[index];
  const std::string& cluster = c.endpoint.name;
  auto [tc_ns, tc_name] = TidbClusterRef(obj);
  std::string tc_key = std::to_string(index) + "|T|" + tc_ns + "/" + tc_name;
  std::optional<Json> tc = LatestTidbCluster(index, tc_key, tc_ns, tc_name);
  Time now = clock_->Now();
  // A step whose writes failed is retried as it was: the model has already moved on with it.
  StepOutput out;
  bool condition_audited = false;
  if (auto it = unwritten_.find(key); it != unwritten_.end()) {
    out = std::move(it->second.out);
    condition_audited = it->second.condition_audited;
    unwritten_.erase(it);
  } else {
    out = backup ? StepBackup(cluster, obj, tc ? &*tc : nullptr, model_, now)
                 : StepRestore(cluster, obj, tc ? &*tc : nullptr, model_, now);
    FlushAudit();
  }
  const bool had_tc_patch = !out.tc_patch.is_null();
  if (!out.tc_patch.is_null() && tc) {
    lock.unlock();
    auto patched = c.client->Patch(kube::resources::TidbCluster(), tc_ns, tc_name,
                                   kube::PatchType::kMerge, out.tc_patch);
    lock.lock();
    if (!patched.ok()) {
      log::Warn("patch TidbCluster failed; retrying", {{"cluster", cluster},
                                                       {"object", tc_ns + "/" + tc_name},
                                                       {"error", patched.status().message()}});
      if (StillCurrent(index, backup, obj)) unwritten_[key] = {std::move(out), condition_audited};
      Enqueue(key, model_.timing().retry_backoff + std::chrono::milliseconds(100));
      return false;
    }
    latest_[tc_key] = *patched;
    out.tc_patch = Json();  // applied: a retried write must not patch again
  }
  if (out.write) {
    if (!condition_audited) condition_audited = AuditConditionOf(c, backup, obj, *out.write);
    lock.unlock();
    auto written = WriteMember(c, backup, obj, *out.write);
    lock.lock();
    // Deleted (or replaced) while the write was under way: its delete handler has already
    // forgotten it, and nothing of this step may outlive it.
    if (!StillCurrent(index, backup, obj)) return false;
    if (!written.ok()) {
      log::Warn("write failed; retrying",
                {{"cluster", cluster},
                 {"object", ObjectKey{JsonStringAt(obj, {"metadata", "namespace"}),
                                      JsonStringAt(obj, {"metadata", "name"})}
                                .String()},
                 {"error", written.status().message()}});
      // A refused write (a 4xx other than a conflict or throttling, e.g. a finalizer added to a
      // member being deleted) will never land: retried as it was, it would hold the member for
      // ever (chaos seeds 4502, 4504). The next pass steps afresh from the object as it is.
      if (!Refused(written.status())) unwritten_[key] = {std::move(out), condition_audited};
      if (written.status().code() == Code::kNotFound) {
        // Gone though our cache shows it: the cache may be stale (a data plane restarted empty
        // between our list and our watch, as the manager saw in chaos seed 8012).
        (backup ? c.backups : c.restores)->Relist("a member write was answered NotFound");
      }
      Enqueue(key, std::chrono::seconds(1));
      return false;
    }
    // A write that changes nothing (an identical condition) is not made: wait as told.
    bool changed = RvOf(*written) != RvOf(obj);
    obj = *written;
    if (changed) latest_[key] = obj;
    if (changed) return true;
  }
  if (had_tc_patch) return true;
  if (out.wake) {
    Duration d = std::max(Duration(0), std::chrono::duration_cast<Duration>(*out.wake - now));
    Enqueue(key, d);
  }
  return false;
}

void Simulator::Impl::Reconcile(const std::string& key) {
  const auto [index, backup, object_key] = ParseQueueKey(key);
  if (index >= clusters_.size()) return;
  ClusterRuntime& c = *clusters_[index];
  runtime::Informer& inf = backup ? *c.backups : *c.restores;

  std::unique_lock<std::mutex> lock(mu_);
  auto cached = inf.cache().Get(object_key);
  if (cached == nullptr) return;
  Json obj = *cached;
  if (auto it = latest_.find(key); it != latest_.end() && OurNewerWrite(it->second, obj)) {
    obj = it->second;
  }
  for (int iteration = 0; iteration < 64; ++iteration) {
    if (!StepOnce(key, index, backup, obj, lock)) return;
  }
  Enqueue(key, Duration(0));
}

namespace {

void JsonReply(httplib::Response& res, int code, const Json& body) {
  res.status = code;
  res.set_content(DumpJson(body) + "\n", "application/json");
}

}  // namespace

void Simulator::Impl::AdminState(httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  Json clusters = Json::array();
  for (const auto& c : clusters_) clusters.push_back(c->endpoint.name);
  Json state = model_.Dump();
  state["clusters"] = clusters;
  // What the simulator currently sees of each TidbCluster (tests wait on this).
  Json tcs = Json::object();
  for (const auto& c : clusters_) {
    for (const auto& tc : c->tidbclusters->cache().List()) {
      tcs[c->endpoint.name + "/" + JsonStringAt(*tc, {"metadata", "namespace"}) + "/" +
          JsonStringAt(*tc, {"metadata", "name"})] = {
          {"recoveryMode", JsonBoolAt(*tc, {"spec", "recoveryMode"})},
          {"tikvVolumesReady",
           JsonStringAt(*tc, {"metadata", "annotations", kTikvVolumesReadyAnnotation})}};
    }
  }
  state["tidbclusters"] = tcs;
  JsonReply(res, 200, state);
}

void Simulator::Impl::AdminAddFault(const httplib::Request& req, httplib::Response& res) {
  auto body = ParseJson(req.body);
  std::string spec;
  if (body.ok() && body->is_object()) spec = JsonStringAt(*body, {"fault"});
  if (spec.empty()) {
    JsonReply(
        res, 400,
        {{"error",
          "want a JSON body {\"fault\": \"KIND[@CLUSTER][/NAME][,factor=F][,after-meta]\"}"}});
    return;
  }
  auto fault = ParseFault(spec);
  if (!fault.ok()) {
    JsonReply(res, 400, {{"error", fault.status().message()}});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    model_.AddFault(*fault);
    model_.Audit({{"event", "fault_added"}, {"fault", FaultToJson(*fault)}});
    FlushAudit();
  }
  EnqueueAll();
  JsonReply(res, 201, FaultToJson(*fault));
}

void Simulator::Impl::AdminRemoveFaults(const httplib::Request& req, httplib::Response& res) {
  std::optional<FaultKind> kind;
  if (req.has_param("kind")) {
    auto k = ParseFaultKind(req.get_param_value("kind"));
    if (!k.ok()) {
      JsonReply(res, 400, {{"error", k.status().message()}});
      return;
    }
    kind = *k;
  }
  size_t removed = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    removed =
        model_.RemoveFaults(kind, req.get_param_value("cluster"), req.get_param_value("name"));
    model_.Audit({{"event", "fault_removed"}, {"count", removed}});
    FlushAudit();
  }
  EnqueueAll();
  JsonReply(res, 200, {{"removed", removed}});
}

Status Simulator::Impl::StartAdmin() {
  admin_ = std::make_unique<httplib::Server>();
  admin_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  admin_->Get("/state",
              [this](const httplib::Request&, httplib::Response& res) { AdminState(res); });
  admin_->Get("/faults", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Json out = Json::array();
    for (const Fault& f : model_.faults()) out.push_back(FaultToJson(f));
    JsonReply(res, 200, out);
  });
  admin_->Post("/faults", [this](const httplib::Request& req, httplib::Response& res) {
    AdminAddFault(req, res);
  });
  admin_->Delete("/faults", [this](const httplib::Request& req, httplib::Response& res) {
    AdminRemoveFaults(req, res);
  });
  std::string host = options_.admin_addr;
  int port = 0;
  size_t colon = host.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("--admin-addr \"" + options_.admin_addr + "\": want HOST:PORT");
  }
  auto [p, ec] = std::from_chars(host.data() + colon + 1, host.data() + host.size(), port);
  if (ec != std::errc() || p != host.data() + host.size() || port < 0 || port > 65535) {
    return InvalidArgument("--admin-addr \"" + options_.admin_addr + "\": bad port");
  }
  host = host.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (port == 0) {
    admin_port_ = admin_->bind_to_any_port(host);
  } else {
    admin_port_ = admin_->bind_to_port(host, port) ? port : -1;
  }
  if (admin_port_ <= 0) {
    return UnavailableError("--admin-addr " + options_.admin_addr + ": cannot listen");
  }
  admin_thread_ = std::thread([this] { admin_->listen_after_bind(); });
  log::Info("admin endpoint listening", {{"addr", host + ":" + std::to_string(admin_port_)}});
  return Status::Ok();
}

Result<std::unique_ptr<Simulator>> Simulator::Create(SimulatorOptions options, Clock* clock) {
  if (options.clusters.empty()) return InvalidArgument("at least one --cluster is required");
  for (const ClusterEndpoint& ep : options.clusters) {
    if (options.topology.Find(ep.name) == nullptr) {
      return InvalidArgument("cluster " + ep.name + " has no entry in the topology");
    }
  }
  return std::unique_ptr<Simulator>(
      new Simulator(std::make_unique<Impl>(std::move(options), clock)));
}

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulator::~Simulator() = default;
Status Simulator::Start() { return impl_->Start(); }
void Simulator::Stop() { impl_->Stop(); }
int Simulator::admin_port() const { return impl_->admin_port(); }

}  // namespace brfed::sim
