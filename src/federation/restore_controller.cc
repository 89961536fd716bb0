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

RestoreController::RestoreController(Deps deps) : deps_(std::move(deps)) {}

std::string RestoreController::OwnerKey(const Json& member) {
  if (JsonStringAt(member, {"metadata", "labels", api::kManagedByLabel}) != api::kManagedByValue) {
    return "";
  }
  return JsonStringAt(member, {"metadata", "annotations", api::kOwnerAnnotation});
}

std::vector<std::string> RestoreController::KeysReferencing(const Json& volume_backup) const {
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

Result<runtime::ReconcileOutcome> RestoreController::Reconcile(const std::string& key) {
  const ObjectKey object_key = ObjectKey::Parse(key);
  runtime::ObjectPtr vr = deps_.volume_restores->Get(object_key);
  if (vr == nullptr) return runtime::ReconcileOutcome{};

  RestoreDecideInput input;
  input.volume_restore = vr.get();
  input.known_clusters = deps_.data_planes->ClusterNames();
  input.now = deps_.clock->Now();
  runtime::ObjectPtr volume_backup;
  std::vector<runtime::ObjectPtr> member_objects;  // keep the cached objects alive
  if (auto view = api::ParseVolumeRestore(*vr); view.ok()) {
    const std::string member_name = api::RestoreMemberName(view->name);
    for (const auto& c : view->clusters) {
      if (c.k8s_cluster_name.empty() || c.tc_namespace.empty()) continue;
      runtime::ObjectPtr m =
          deps_.data_planes->CachedRestore(c.k8s_cluster_name, {c.tc_namespace, member_name});
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
    std::shared_ptr<kube::Client> client = deps_.data_planes->ClientFor(a.k8s_cluster_name);
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

}  // namespace brfed::federation
