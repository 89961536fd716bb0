#include "federation/restore_controller.h"

#include <nlohmann/json.hpp>

#include "api/conditions.h"
#include "api/labels.h"
#include "api/metadata.h"
#include "api/volume_restore.h"
#include "core/log.h"
#include "federation/restore_decide.h"
#include "kube/resource.h"
#include "runtime/event_mappers.h"

namespace brfed::federation {
RestoreMetrics::RestoreMetrics(runtime::MetricsRegistry& registry)
    : status(registry.AddCounter("fed_volume_restore_status",
                                 "VolumeRestores that reached a final state, by state.",
                                 {"namespace", "status"})),
      total(registry.AddHistogram("fed_volume_restore_total_time_seconds",
                                  "Time from Running to Complete or Failed.",
                                  {"namespace", "status"}, runtime::ExponentialBuckets(1, 2, 17))),
      step(registry.AddHistogram("fed_volume_restore_step_duration_seconds",
                                 "Duration of each restore step (status.steps[]).",
                                 {"namespace", "step"}, runtime::ExponentialBuckets(1, 2, 17))) {}

RestoreReconciler::RestoreReconciler(Deps deps) : deps_(std::move(deps)) {
  runtime::StatusWriter* status_writer = deps_.status_writer;
  if (status_writer == nullptr) {
    own_status_writer_ = std::make_unique<runtime::StatusWriter>(deps_.control);
    status_writer = own_status_writer_.get();
  }
  auto clients = [control = deps_.control, view = deps_.clusters](const std::string& cluster) {
    return cluster.empty() ? control : view->ClientFor(cluster);
  };
  expectations_ = std::make_unique<runtime::WriteExpectations>(deps_.clock);
  WritePacing pacing{expectations_.get(), nullptr, deps_.on_stale_member_cache};
  pacing.pause_clients = [view = deps_.clusters](const std::string& cluster) {
    return view->PriorityClientFor(cluster);
  };
  pacing.cached_rv = [view = deps_.clusters](const Write& w) -> std::string {
    if (w.cluster.empty()) return "";
    runtime::ObjectPtr cached = view->CachedRestore(w.cluster, {w.ns, w.name});
    return cached != nullptr ? JsonStringAt(*cached, {"metadata", "resourceVersion"}) : "";
  };
  executor_ = std::make_unique<Executor>(std::move(clients), status_writer, deps_.events,
                                         std::move(pacing));
}

std::optional<std::chrono::nanoseconds> RestoreReconciler::AwaitOwnWrites(const Json& vr) {
  const std::string ns = JsonStringAt(vr, {"metadata", "namespace"});
  const std::string name = JsonStringAt(vr, {"metadata", "name"});
  std::optional<std::chrono::nanoseconds> wait =
      expectations_->Pending(ObjectIdOf("", kube::resources::VolumeRestore(), ns, name),
                             JsonStringAt(vr, {"metadata", "resourceVersion"}));
  auto view = api::ParseVolumeRestore(vr);
  if (!view.ok()) return wait;
  const std::set<std::string> observable = deps_.clusters->ObservableClusters();
  const std::string member_name = api::RestoreMemberName(view->name);
  for (const auto& c : view->clusters) {
    if (c.k8s_cluster_name.empty() || observable.count(c.k8s_cluster_name) == 0) continue;
    runtime::ObjectPtr m =
        deps_.clusters->CachedRestore(c.k8s_cluster_name, {c.tc_namespace, member_name});
    auto member_wait = expectations_->Pending(
        ObjectIdOf(c.k8s_cluster_name, kube::resources::Restore(), c.tc_namespace, member_name),
        m != nullptr ? JsonStringAt(*m, {"metadata", "resourceVersion"}) : "");
    if (member_wait && (!wait || *member_wait < *wait)) wait = member_wait;
  }
  return wait;
}

std::string RestoreReconciler::OwnerKey(const Json& member) {
  return api::OwnerKeyOf(member, api::kVolumeRestoreLabel);
}

std::vector<std::string> RestoreReconciler::KeysReferencing(const Json& volume_backup) const {
  std::vector<std::string> keys;
  const std::string ns = JsonStringAt(volume_backup, {"metadata", "namespace"});
  const std::string name = JsonStringAt(volume_backup, {"metadata", "name"});
  for (const auto& vr : deps_.volume_restores->ListNamespace(ns)) {
    if (JsonStringAt(*vr, {"spec", "volumeBackupName"}) == name) {
      keys.push_back(runtime::KeyOf(*vr).String());
    }
  }
  return keys;
}

// What a pass observed; keeps the cached objects alive while the decision borrows them.
struct RestoreReconciler::Observed {
  RestoreDecideInput input;
  runtime::ObjectPtr volume_backup;
  std::vector<runtime::ObjectPtr> members;
  std::vector<runtime::ObjectPtr> unmarked;  // read past the cache
};

namespace {

// Whether the VolumeRestore's members should exist by what it says (it is being deleted, or it
// has started and not finished), so that a cache miss is worth a live read: the members the Go
// br-federation-manager built carry none of our labels and so are in no cache of ours.
bool MemberExpected(const Json& volume_restore) {
  if (api::IsBeingDeleted(volume_restore)) return true;
  const Json status = api::StatusOf(volume_restore);
  namespace cond = api::vrt_condition;
  return api::IsConditionTrue(status, cond::kRunning) &&
         !api::IsConditionTrue(status, cond::kComplete) &&
         !api::IsConditionTrue(status, cond::kFailed);
}

}  // namespace

void RestoreReconciler::ReadUnmarkedMembers(const std::string& key, const Json& volume_restore,
                                            Observed& o) const {
  if (!MemberExpected(volume_restore)) return;
  auto view = api::ParseVolumeRestore(volume_restore);
  if (!view.ok()) return;
  const std::string member_name = api::RestoreMemberName(view->name);
  for (const auto& c : view->clusters) {
    if (c.k8s_cluster_name.empty() || c.tc_namespace.empty() ||
        o.input.observable_clusters.count(c.k8s_cluster_name) == 0 ||
        deps_.clusters->CachedRestore(c.k8s_cluster_name, {c.tc_namespace, member_name})) {
      continue;
    }
    auto client = deps_.clusters->ClientFor(c.k8s_cluster_name);
    if (client == nullptr) continue;
    auto read = client->Get(kube::resources::Restore(), c.tc_namespace, member_name);
    if (!read.ok() || !JsonStringAt(*read, {"metadata", "labels", api::kManagedByLabel}).empty()) {
      continue;  // absent, unreadable (the next pass reads again), or ours and the cache lags
    }
    auto found = std::make_shared<const Json>(std::move(*read));
    o.input.unmarked_members[c.k8s_cluster_name] = found.get();
    o.unmarked.push_back(std::move(found));
    log::Info("member read past the cache",
              {{"volumerestore", key}, {"cluster", c.k8s_cluster_name}, {"marked", "no"}});
  }
}

void RestoreReconciler::CheckCachedMembersLive(const std::string& key, const Json& volume_restore) {
  const SteadyTime now = deps_.clock->Steady();
  {
    std::lock_guard<std::mutex> lock(live_checks_mu_);
    if (!MemberExpected(volume_restore) || !deps_.on_stale_member_cache) {
      last_live_check_.erase(key);
      return;
    }
    // The first pass only starts the clock: members are checked once they have waited.
    auto [last, first] = last_live_check_.try_emplace(key, now);
    if (first || now - last->second < kMemberLiveCheckInterval) return;
    last->second = now;
  }
  auto view = api::ParseVolumeRestore(volume_restore);
  if (!view.ok()) return;
  const std::string member_name = api::RestoreMemberName(view->name);
  for (const auto& c : view->clusters) {
    if (c.k8s_cluster_name.empty() || c.tc_namespace.empty() ||
        !deps_.clusters->CachedRestore(c.k8s_cluster_name, {c.tc_namespace, member_name})) {
      continue;
    }
    auto client = deps_.clusters->ClientFor(c.k8s_cluster_name);
    if (client == nullptr) continue;
    auto read = client->Get(kube::resources::Restore(), c.tc_namespace, member_name);
    if (read.ok() || read.status().code() != Code::kNotFound) continue;
    log::Warn("cached restore member is gone from its server; relisting",
              {{"volumerestore", key}, {"cluster", c.k8s_cluster_name}});
    deps_.on_stale_member_cache(c.k8s_cluster_name, kube::resources::Restore(),
                                "restore member " + c.tc_namespace + "/" + member_name +
                                    " is cached but its server answered NotFound");
  }
}

RestoreReconciler::Observed RestoreReconciler::Observe(const std::string& key,
                                                       runtime::ObjectPtr vr) const {
  Observed o;
  o.input.volume_restore = vr.get();
  o.input.known_clusters = deps_.clusters->ClusterNames();
  o.input.observable_clusters = deps_.clusters->ObservableClusters();
  o.input.unreachable = deps_.clusters->UnreachableClusters();
  o.input.now = deps_.clock->Now();
  auto view = api::ParseVolumeRestore(*vr);
  if (!view.ok()) return o;
  const std::string member_name = api::RestoreMemberName(view->name);
  for (const auto& c : view->clusters) {
    if (c.k8s_cluster_name.empty() || c.tc_namespace.empty()) continue;
    runtime::ObjectPtr m =
        deps_.clusters->CachedRestore(c.k8s_cluster_name, {c.tc_namespace, member_name});
    if (m == nullptr) continue;
    auto member = api::ParseRestoreMember(*m, c.k8s_cluster_name);
    if (!member.ok()) {
      log::Warn("unreadable restore member", {{"volumerestore", key},
                                              {"cluster", c.k8s_cluster_name},
                                              {"error", member.status().ToString()}});
      continue;
    }
    o.members.push_back(std::move(m));
    o.input.members.push_back(std::move(member).value());
  }
  if (!view->volume_backup_name.empty() && deps_.volume_backups != nullptr) {
    o.volume_backup = deps_.volume_backups->Get({view->ns, view->volume_backup_name});
    o.input.volume_backup = o.volume_backup.get();
  }
  return o;
}

std::vector<Write> RestoreReconciler::Lower(const Json& vr, const RestoreDecision& d) const {
  const std::string ns = JsonStringAt(vr, {"metadata", "namespace"});
  const std::string name = JsonStringAt(vr, {"metadata", "name"});
  const std::string rv = JsonStringAt(vr, {"metadata", "resourceVersion"});
  auto control_write = [&](Write::Verb verb, Json body) {
    Write w;
    w.verb = verb;
    w.resource = &kube::resources::VolumeRestore();
    w.ns = ns;
    w.name = name;
    w.body = std::make_shared<const Json>(std::move(body));
    return w;
  };
  using Change = RestoreDecision::FinalizerChange;
  std::vector<Write> writes;
  if (d.finalizer == Change::kAdd) {
    writes.push_back(
        control_write(Write::Verb::kMergePatch,
                      api::FinalizerPatch(vr, api::kRestoreProtectionFinalizer, true, rv)));
  }
  for (const MemberAction& a : d.actions) {
    Write w;
    w.cluster = a.k8s_cluster_name;
    w.resource = &kube::resources::Restore();
    w.ns = a.ns;
    w.name = a.name;
    switch (a.kind) {
      case MemberAction::Kind::kCreate:
        w.verb = Write::Verb::kCreate;
        w.body = a.body;
        break;
      case MemberAction::Kind::kPatchPhase:  // restore-data, restore-finish
        w.verb = Write::Verb::kMergePatch;
        w.body = std::make_shared<const Json>(MemberPhasePatch(a));
        w.pause_critical = true;
        break;
      case MemberAction::Kind::kDelete:
        w.verb = Write::Verb::kDelete;
        break;
      case MemberAction::Kind::kAdopt:
        w.verb = Write::Verb::kMergePatch;
        w.body = a.body;
        break;
    }
    writes.push_back(std::move(w));
  }
  if (d.new_status) {
    writes.push_back(control_write(Write::Verb::kPatchStatus,
                                   {{"metadata", {{"resourceVersion", rv}}},
                                    {"status", api::VolumeRestoreStatusToJson(*d.new_status)}}));
  }
  if (d.finalizer == Change::kRemove) {
    Write w = control_write(Write::Verb::kMergePatch,
                            api::FinalizerPatch(vr, api::kRestoreProtectionFinalizer, false, rv));
    w.missing_is_done = true;  // the last finalizer's removal may delete it at once
    writes.push_back(std::move(w));
  }
  return writes;
}

void RestoreReconciler::RecordMetrics(const std::string& ns, const RestoreDecision& d) const {
  if (deps_.metrics == nullptr) return;
  for (const auto& s : d.finished_steps) {
    deps_.metrics->step.WithLabels({ns, s.step}).Observe(s.seconds);
  }
  if (d.outcome.empty()) return;
  deps_.metrics->status.WithLabels({ns, d.outcome}).Inc();
  if (d.total_seconds) deps_.metrics->total.WithLabels({ns, d.outcome}).Observe(*d.total_seconds);
}

Result<runtime::ReconcileOutcome> RestoreReconciler::Reconcile(const std::string& key) {
  runtime::ObjectPtr vr = deps_.volume_restores->Get(ObjectKey::Parse(key));
  if (vr == nullptr) {
    const ObjectKey object = ObjectKey::Parse(key);
    expectations_->Forget(ObjectIdOf("", kube::resources::VolumeRestore(), object.ns, object.name));
    {
      std::lock_guard<std::mutex> lock(live_checks_mu_);
      last_live_check_.erase(key);
    }
    return DeleteOrphanedMembers(key);
  }
  // The watch event of our own last write enqueues the key again; `wait` bounds the wait.
  if (auto wait = AwaitOwnWrites(*vr)) return runtime::ReconcileOutcome{*wait};
  CheckCachedMembersLive(key, *vr);
  Observed observed = Observe(key, vr);
  ReadUnmarkedMembers(key, *vr, observed);
  RestoreDecision d = DecideRestore(observed.input);
  ExecuteResult result = executor_->Execute(key, Lower(*vr, d));
  if (result.decide_again) return runtime::ReconcileOutcome::DecideAgain();
  if (!result.error.ok()) return result.error;
  if (d.new_status && d.new_status->phase != JsonStringAt(*vr, {"status", "phase"})) {
    log::Info("volume restore phase", {{"volumerestore", key}, {"phase", d.new_status->phase}});
  }
  executor_->Record(*vr, key, d.events);
  RecordMetrics(JsonStringAt(*vr, {"metadata", "namespace"}), d);
  return runtime::ReconcileOutcome{d.requeue_after};
}

Result<runtime::ReconcileOutcome> RestoreReconciler::DeleteOrphanedMembers(const std::string& key) {
  const ObjectKey object = ObjectKey::Parse(key);
  // Another namespace's VolumeRestore (another manager's, which we may not read): not ours.
  if (!deps_.scope_namespace.empty() && object.ns != deps_.scope_namespace) {
    return runtime::ReconcileOutcome{};
  }
  const std::vector<OrphanedMember> orphans = deps_.clusters->CachedRestoresOwnedBy(key);
  RestoreDecision d;
  d.actions = DecideOrphanedRestoreMembers(orphans);
  if (d.actions.empty()) return runtime::ReconcileOutcome{};
  if (auto wait = WaitUnlessOwnerGone(*deps_.control, kube::resources::VolumeRestore(), object)) {
    return *wait;
  }
  for (const OrphanedMember& o : orphans) {
    log::Warn("deleting a restore member whose VolumeRestore no longer exists",
              {{"volumerestore", key},
               {"cluster", o.cluster},
               {"member", runtime::KeyOf(*o.member).String()}});
  }
  ExecuteResult result = executor_->Execute(key, Lower(Json::object(), d));
  if (result.decide_again) return runtime::ReconcileOutcome::DecideAgain();
  if (!result.error.ok()) return result.error;
  return runtime::ReconcileOutcome{};
}

class VolumeRestoreController::ClusterView final : public RestoreClusterView {
 public:
  explicit ClusterView(const DataPlanes* planes) : planes_(planes) {}
  std::set<std::string> ClusterNames() const override {
    auto names = planes_->Names();
    return {names.begin(), names.end()};
  }
  std::set<std::string> ObservableClusters() const override {
    std::set<std::string> out;
    for (const auto& name : planes_->Names()) {
      auto p = planes_->Get(name);
      // A probed-unreachable data plane gets no actions (its cache may be stale).
      if (p && p->client && p->restores && p->restores->HasSynced() &&
          planes_->UnreachableError(name).empty()) {
        out.insert(name);
      }
    }
    return out;
  }
  std::map<std::string, std::string> UnreachableClusters() const override {
    std::map<std::string, std::string> out;
    for (const auto& name : planes_->Names()) {
      if (std::string error = planes_->UnreachableError(name); !error.empty()) out[name] = error;
    }
    return out;
  }
  std::shared_ptr<kube::Client> ClientFor(const std::string& cluster) const override {
    auto p = planes_->Get(cluster);
    return p ? p->client : nullptr;
  }
  std::shared_ptr<kube::Client> PriorityClientFor(const std::string& cluster) const override {
    auto p = planes_->Get(cluster);
    return p ? p->pause_client : nullptr;
  }
  runtime::ObjectPtr CachedRestore(const std::string& cluster,
                                   const ObjectKey& key) const override {
    auto p = planes_->Get(cluster);
    if (!p || !p->restores) return nullptr;
    return p->restores->cache().Get(key);
  }
  std::vector<OrphanedMember> CachedRestoresOwnedBy(const std::string& key) const override {
    return CachedMembersOwnedBy(*planes_, kube::resources::Restore(), api::kVolumeRestoreLabel,
                                key);
  }

 private:
  const DataPlanes* planes_;
};

VolumeRestoreController::VolumeRestoreController(ControllerDeps deps) : deps_(std::move(deps)) {
  restores_ = deps_.informers->For(kube::resources::VolumeRestore());
  backups_ = deps_.informers->For(kube::resources::VolumeBackup());
  view_ = std::make_unique<ClusterView>(deps_.data_planes);
  if (deps_.metrics != nullptr) metrics_ = std::make_unique<RestoreMetrics>(*deps_.metrics);
  RestoreReconciler::Deps r;
  r.control = deps_.control_plane;
  r.volume_restores = &restores_->cache();
  r.volume_backups = &backups_->cache();
  r.clusters = view_.get();
  r.events = NewExecutorEventSink(deps_);
  r.metrics = metrics_.get();
  r.clock = deps_.clock;
  r.status_writer = deps_.status_writer;
  r.on_stale_member_cache = MemberCacheRelister(deps_.data_planes);
  r.scope_namespace = restores_->ns();
  reconciler_ = std::make_unique<RestoreReconciler>(std::move(r));
  controller_ = std::make_unique<runtime::Controller>(
      name_, [this](const std::string& key) { return Reconcile(key); }, deps_.workers,
      deps_.metrics, deps_.clock);

  runtime::WorkQueue* queue = &controller_->queue();
  restores_->AddHandlers(runtime::EnqueueMapped(queue, runtime::ObjectKeyMapper()));
  backups_->AddHandlers(runtime::EnqueueMapped(
      queue, [this](const Json& vb) { return reconciler_->KeysReferencing(vb); }));
  deps_.data_planes->AddMemberHandler(kube::resources::Restore(),
                                      [queue](const std::string&, const Json& member) {
                                        std::string key = RestoreReconciler::OwnerKey(member);
                                        if (!key.empty()) queue->Add(key);
                                      });
  deps_.data_planes->AddClusterChangeHandler(
      [this, queue] { runtime::EnqueueAll(restores_->cache(), queue); });
}

VolumeRestoreController::~VolumeRestoreController() { Stop(); }

Status VolumeRestoreController::Start() {
  BRFED_RETURN_IF_ERROR(StartInformers(deps_, {restores_.get(), backups_.get()}));
  controller_->Start();
  return Status::Ok();
}

// The shared informers are stopped by their factory's owner, after every controller.
void VolumeRestoreController::Stop() {
  if (controller_) controller_->Stop();
}

Result<runtime::ReconcileOutcome> VolumeRestoreController::Reconcile(const std::string& key) {
  auto outcome = reconciler_->Reconcile(key);
  if (!outcome.ok() || outcome->decide_again) return outcome;
  auto vr = restores_->cache().Get(ObjectKey::Parse(key));
  if (vr == nullptr) return outcome;
  const std::string phase = JsonStringAt(*vr, {"status", "phase"});
  const bool finished =
      (phase == "Complete" || phase == "Failed" || phase == "Invalid") && !api::IsBeingDeleted(*vr);
  return WithResyncSafetyNet(outcome->requeue_after, !finished, deps_.resync);
}

}  // namespace brfed::federation
