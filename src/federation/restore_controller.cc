#include "federation/restore_controller.h"

#include <nlohmann/json.hpp>

#include "api/labels.h"
#include "api/volume_restore.h"
#include "core/log.h"
#include "federation/restore_decide.h"
#include "kube/resource.h"

namespace brfed::federation {
namespace {

// The finalizer list of `object` with `finalizer` added or removed.
Json FinalizersWith(const Json& object, std::string_view finalizer, bool present) {
  Json out = Json::array();
  if (const Json* f = JsonAt(object, {"metadata", "finalizers"}); f != nullptr && f->is_array()) {
    for (const Json& e : *f) {
      if (!(e.is_string() && e.get<std::string>() == finalizer)) out.push_back(e);
    }
  }
  if (present) out.push_back(std::string(finalizer));
  return out;
}

const char* KindName(MemberAction::Kind kind) {
  switch (kind) {
    case MemberAction::Kind::kCreate:
      return "create";
    case MemberAction::Kind::kPatchPhase:
      return "patch";
    case MemberAction::Kind::kDelete:
      return "delete";
  }
  return "?";
}

}  // namespace

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

RestoreReconciler::RestoreReconciler(Deps deps) : deps_(std::move(deps)) {}

std::string RestoreReconciler::OwnerKey(const Json& member) {
  if (JsonStringAt(member, {"metadata", "labels", api::kVolumeRestoreLabel}).empty()) return "";
  return JsonStringAt(member, {"metadata", "annotations", api::kOwnerAnnotation});
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

Result<runtime::ReconcileOutcome> RestoreReconciler::Reconcile(const std::string& key) {
  const ObjectKey object_key = ObjectKey::Parse(key);
  runtime::ObjectPtr vr = deps_.volume_restores->Get(object_key);
  if (vr == nullptr) return runtime::ReconcileOutcome{};

  RestoreDecideInput input;
  input.volume_restore = vr.get();
  input.known_clusters = deps_.clusters->ClusterNames();
  input.observable_clusters = deps_.clusters->ObservableClusters();
  input.now = deps_.clock->Now();
  runtime::ObjectPtr volume_backup;
  std::vector<runtime::ObjectPtr> member_objects;  // keep the cached objects alive
  if (auto view = api::ParseVolumeRestore(*vr); view.ok()) {
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
      member_objects.push_back(std::move(m));
      input.members.push_back(std::move(member).value());
    }
    if (!view->volume_backup_name.empty() && deps_.volume_backups != nullptr) {
      volume_backup = deps_.volume_backups->Get({view->ns, view->volume_backup_name});
      input.volume_backup = volume_backup.get();
    }
  }

  RestoreDecision d = DecideRestore(input);
  std::string rv = JsonStringAt(*vr, {"metadata", "resourceVersion"});
  const kube::Resource& vrt = kube::resources::VolumeRestore();

  if (d.finalizer == RestoreDecision::FinalizerChange::kAdd) {
    Json patch = {{"metadata",
                   {{"resourceVersion", rv},
                    {"finalizers", FinalizersWith(*vr, api::kRestoreProtectionFinalizer, true)}}}};
    auto r =
        deps_.control->Patch(vrt, object_key.ns, object_key.name, kube::PatchType::kMerge, patch);
    if (!r.ok()) return r.status().Annotate("add finalizer to VolumeRestore " + key);
    rv = JsonStringAt(*r, {"metadata", "resourceVersion"});
  }

  Status first_error;
  std::optional<std::chrono::nanoseconds> requeue_after;
  if (d.requeue_after) requeue_after = *d.requeue_after;
  for (const MemberAction& a : d.actions) {
    std::shared_ptr<kube::Client> client = deps_.clusters->ClientFor(a.k8s_cluster_name);
    if (client == nullptr) {
      requeue_after = kUnknownClusterRecheck;
      continue;
    }
    Status s;
    switch (a.kind) {
      case MemberAction::Kind::kCreate: {
        auto r = client->Create(kube::resources::Restore(), a.ns, *a.body);
        if (!r.ok() && r.status().code() != Code::kAlreadyExists) s = r.status();
        break;
      }
      case MemberAction::Kind::kPatchPhase: {
        auto r = client->Patch(kube::resources::Restore(), a.ns, a.name, kube::PatchType::kMerge,
                               MemberPhasePatch(a));
        if (!r.ok()) s = r.status();
        break;
      }
      case MemberAction::Kind::kDelete: {
        Status r = client->Delete(kube::resources::Restore(), a.ns, a.name);
        if (!r.ok() && r.code() != Code::kNotFound) s = r;
        break;
      }
    }
    log::Info("restore member action", {{"volumerestore", key},
                                        {"cluster", a.k8s_cluster_name},
                                        {"member", a.ns + "/" + a.name},
                                        {"action", KindName(a.kind)},
                                        {"phase", a.federal_phase},
                                        {"result", s.ok() ? "ok" : s.ToString()}});
    if (!s.ok() && first_error.ok()) {
      first_error = s.Annotate(std::string(KindName(a.kind)) + " restore member " + a.ns + "/" +
                               a.name + " in cluster " + a.k8s_cluster_name);
    }
  }

  if (d.new_status) {
    Json patch = {{"metadata", {{"resourceVersion", rv}}},
                  {"status", api::VolumeRestoreStatusToJson(*d.new_status)}};
    auto r = deps_.control->Patch(vrt, object_key.ns, object_key.name, kube::PatchType::kMerge,
                                  patch, "status");
    if (!r.ok() && r.status().code() == Code::kNotFound) {
      // Upstream's CRD has no status subresource: status is part of the object.
      r = deps_.control->Patch(vrt, object_key.ns, object_key.name, kube::PatchType::kMerge, patch);
    }
    if (!r.ok()) return r.status().Annotate("write status of VolumeRestore " + key);
    rv = JsonStringAt(*r, {"metadata", "resourceVersion"});
    if (d.new_status->phase != JsonStringAt(*vr, {"status", "phase"})) {
      log::Info("volume restore phase", {{"volumerestore", key}, {"phase", d.new_status->phase}});
    }
  }

  if (deps_.events) {
    for (const auto& e : d.events) deps_.events(*vr, e.type, e.reason, e.message);
  }
  if (deps_.metrics != nullptr) {
    for (const auto& s : d.finished_steps) {
      deps_.metrics->step.WithLabels({object_key.ns, s.step}).Observe(s.seconds);
    }
    if (!d.outcome.empty()) {
      deps_.metrics->status.WithLabels({object_key.ns, d.outcome}).Inc();
      if (d.total_seconds) {
        deps_.metrics->total.WithLabels({object_key.ns, d.outcome}).Observe(*d.total_seconds);
      }
    }
  }

  if (d.finalizer == RestoreDecision::FinalizerChange::kRemove) {
    Json patch = {{"metadata",
                   {{"resourceVersion", rv},
                    {"finalizers", FinalizersWith(*vr, api::kRestoreProtectionFinalizer, false)}}}};
    auto r =
        deps_.control->Patch(vrt, object_key.ns, object_key.name, kube::PatchType::kMerge, patch);
    if (!r.ok() && r.status().code() != Code::kNotFound) {
      return r.status().Annotate("remove finalizer from VolumeRestore " + key);
    }
  }

  if (!first_error.ok()) return first_error;
  return runtime::ReconcileOutcome{requeue_after};
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
      if (p && p->client && p->restores && p->restores->HasSynced()) out.insert(name);
    }
    return out;
  }
  std::shared_ptr<kube::Client> ClientFor(const std::string& cluster) const override {
    auto p = planes_->Get(cluster);
    return p ? p->client : nullptr;
  }
  runtime::ObjectPtr CachedRestore(const std::string& cluster,
                                   const ObjectKey& key) const override {
    auto p = planes_->Get(cluster);
    if (!p || !p->restores) return nullptr;
    return p->restores->store().Get(key);
  }

 private:
  const DataPlanes* planes_;
};

VolumeRestoreController::VolumeRestoreController(ControllerDeps deps) : deps_(std::move(deps)) {
  runtime::InformerOptions options;
  options.ns = deps_.watch_namespace;
  restores_ = std::make_unique<runtime::Informer>(
      deps_.control_plane, kube::resources::VolumeRestore(), options, deps_.clock);
  backups_ = std::make_unique<runtime::Informer>(
      deps_.control_plane, kube::resources::VolumeBackup(), options, deps_.clock);
  view_ = std::make_unique<ClusterView>(deps_.data_planes);
  if (deps_.metrics != nullptr) metrics_ = std::make_unique<RestoreMetrics>(*deps_.metrics);
  RestoreReconciler::Deps r;
  r.control = deps_.control_plane;
  r.volume_restores = &restores_->store();
  r.volume_backups = &backups_->store();
  r.clusters = view_.get();
  if (deps_.events != nullptr) {
    r.events = [events = deps_.events](const Json& obj, std::string_view type,
                                       std::string_view reason, std::string_view message) {
      events->Record(obj, type, reason, message);
    };
  }
  r.metrics = metrics_.get();
  r.clock = deps_.clock;
  reconciler_ = std::make_unique<RestoreReconciler>(std::move(r));
  controller_ = std::make_unique<runtime::Controller>(
      name_, [this](const std::string& key) { return Reconcile(key); }, deps_.workers,
      deps_.metrics, deps_.clock);

  auto enqueue = [this](const Json& obj) {
    controller_->queue().Add(runtime::KeyOf(obj).String());
  };
  restores_->AddHandlers(
      {enqueue, [enqueue](const Json&, const Json& obj) { enqueue(obj); }, enqueue});
  auto referencing = [this](const Json& vb) {
    for (const auto& key : reconciler_->KeysReferencing(vb)) controller_->queue().Add(key);
  };
  backups_->AddHandlers({referencing,
                         [referencing](const Json&, const Json& obj) { referencing(obj); },
                         referencing});
  deps_.data_planes->AddMemberHandler(kube::resources::Restore(),
                                      [this](const std::string&, const Json& member) {
                                        std::string key = RestoreReconciler::OwnerKey(member);
                                        if (!key.empty()) controller_->queue().Add(key);
                                      });
  deps_.data_planes->AddClusterChangeHandler([this] { EnqueueAll(); });
}

VolumeRestoreController::~VolumeRestoreController() { Stop(); }

Status VolumeRestoreController::Start() {
  restores_->Start();
  backups_->Start();
  if (!restores_->WaitForSync(std::chrono::seconds(60)) ||
      !backups_->WaitForSync(std::chrono::seconds(60))) {
    return UnavailableError("VolumeRestore/VolumeBackup caches did not sync within 60s");
  }
  controller_->Start();
  return Status::Ok();
}

void VolumeRestoreController::Stop() {
  if (controller_) controller_->Stop();
  if (backups_) backups_->Stop();
  if (restores_) restores_->Stop();
}

void VolumeRestoreController::EnqueueAll() {
  for (const auto& obj : restores_->store().List()) {
    controller_->queue().Add(runtime::KeyOf(*obj).String());
  }
}

Result<runtime::ReconcileOutcome> VolumeRestoreController::Reconcile(const std::string& key) {
  auto outcome = reconciler_->Reconcile(key);
  if (!outcome.ok()) return outcome;
  // Safety net: look at live restores again after one resync period.
  auto vr = restores_->store().Get(ObjectKey::Parse(key));
  if (vr != nullptr) {
    const std::string phase = JsonStringAt(*vr, {"status", "phase"});
    const bool finished = (phase == "Complete" || phase == "Failed" || phase == "Invalid") &&
                          JsonAt(*vr, {"metadata", "deletionTimestamp"}) == nullptr;
    auto resync = std::chrono::duration_cast<std::chrono::nanoseconds>(deps_.resync);
    if (!finished && (!outcome->requeue_after || *outcome->requeue_after > resync)) {
      outcome->requeue_after = resync;
    }
  }
  return outcome;
}

}  // namespace brfed::federation
