#include "api/volume_restore.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/volume_backup.h"
#include "core/duration.h"

namespace brfed::api {
namespace {

Result<std::optional<Time>> ParseOptionalTime(const Json& parent, std::string_view key,
                                              std::string_view where) {
  auto it = parent.find(std::string(key));
  if (it == parent.end() || it->is_null()) return std::optional<Time>();
  if (!it->is_string()) {
    return InvalidArgument(std::string(where) + "." + std::string(key) + " must be a string");
  }
  if (it->get_ref<const std::string&>().empty()) return std::optional<Time>();
  auto t = ParseRfc3339(it->get_ref<const std::string&>());
  if (!t.ok()) return t.status().Annotate(std::string(where) + "." + std::string(key));
  return std::optional<Time>(*t);
}

std::string StringField(const Json& parent, std::string_view key) {
  auto it = parent.find(std::string(key));
  if (it == parent.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

Result<std::vector<RestoreCondition>> ParseConditions(const Json& status, std::string_view where) {
  std::vector<RestoreCondition> out;
  auto it = status.find("conditions");
  if (it == status.end() || it->is_null()) return out;
  if (!it->is_array()) return InvalidArgument(std::string(where) + ".conditions must be a list");
  for (const Json& c : *it) {
    if (!c.is_object()) {
      return InvalidArgument(std::string(where) + ".conditions[] entries must be objects");
    }
    RestoreCondition cond{StringField(c, "type"), StringField(c, "status"),
                          StringField(c, "reason"), StringField(c, "message"), std::nullopt};
    BRFED_ASSIGN_OR_RETURN(cond.last_transition_time,
                           ParseOptionalTime(c, "lastTransitionTime", "conditions[]"));
    out.push_back(std::move(cond));
  }
  return out;
}

std::map<std::string, std::string> StringMap(const Json& object,
                                             std::initializer_list<std::string_view> path) {
  std::map<std::string, std::string> out;
  const Json* m = JsonAt(object, path);
  if (m == nullptr || !m->is_object()) return out;
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

}  // namespace

std::string FormatTimeTaken(Time started, Time completed) {
  return FormatGoDuration(RoundGoDuration(Elapsed(started, completed), std::chrono::seconds(1)));
}

const RestoreCondition* FindRestoreCondition(const std::vector<RestoreCondition>& conditions,
                                             std::string_view type) {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

bool IsRestoreConditionTrue(const std::vector<RestoreCondition>& conditions,
                            std::string_view type) {
  const RestoreCondition* c = FindRestoreCondition(conditions, type);
  return c != nullptr && c->status == "True";
}

void VolumeRestoreStatus::SetCondition(std::string_view type, std::string_view status,
                                       std::string_view reason, std::string_view message,
                                       Time now) {
  phase = std::string(type);
  for (auto& c : conditions) {
    if (c.type != type) continue;
    if (c.status != status) c.last_transition_time = now;
    c.status = std::string(status);
    c.reason = std::string(reason);
    c.message = std::string(message);
    return;
  }
  conditions.push_back(
      {std::string(type), std::string(status), std::string(reason), std::string(message), now});
}

void VolumeRestoreStatus::StartStep(std::string_view step, Time now) {
  if (FindStep(step) != nullptr) return;
  steps.push_back({std::string(step), now, std::nullopt, ""});
}

void VolumeRestoreStatus::FinishStep(std::string_view step, Time now) {
  for (auto& s : steps) {
    if (s.step_name != step || s.time_completed.has_value()) continue;
    s.time_completed = now;
    if (s.time_started.has_value()) s.time_taken = FormatTimeTaken(*s.time_started, now);
  }
}

const VolumeRestoreStep* VolumeRestoreStatus::FindStep(std::string_view step) const {
  for (const auto& s : steps) {
    if (s.step_name == step) return &s;
  }
  return nullptr;
}

Result<VolumeRestoreStatus> ParseVolumeRestoreStatus(const Json& status) {
  VolumeRestoreStatus out;
  if (status.is_null()) return out;
  if (!status.is_object()) return InvalidArgument("status must be an object");
  if (auto it = status.find("restores"); it != status.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("status.restores must be a list");
    for (const Json& r : *it) {
      if (!r.is_object()) return InvalidArgument("status.restores[] entries must be objects");
      out.restores.push_back({StringField(r, "k8sClusterName"), StringField(r, "tcName"),
                              StringField(r, "tcNamespace"), StringField(r, "restoreName"),
                              StringField(r, "phase"), StringField(r, "commitTs"),
                              StringField(r, "reason"), StringField(r, "message")});
    }
  }
  if (auto it = status.find("steps"); it != status.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("status.steps must be a list");
    for (const Json& s : *it) {
      if (!s.is_object()) return InvalidArgument("status.steps[] entries must be objects");
      VolumeRestoreStep step;
      step.step_name = StringField(s, "stepName");
      BRFED_ASSIGN_OR_RETURN(step.time_started,
                             ParseOptionalTime(s, "timeStarted", "status.steps[]"));
      BRFED_ASSIGN_OR_RETURN(step.time_completed,
                             ParseOptionalTime(s, "timeCompleted", "status.steps[]"));
      step.time_taken = StringField(s, "timeTaken");
      out.steps.push_back(std::move(step));
    }
  }
  BRFED_ASSIGN_OR_RETURN(out.time_started, ParseOptionalTime(status, "timeStarted", "status"));
  BRFED_ASSIGN_OR_RETURN(out.time_completed, ParseOptionalTime(status, "timeCompleted", "status"));
  out.time_taken = StringField(status, "timeTaken");
  out.commit_ts = StringField(status, "commitTs");
  out.phase = StringField(status, "phase");
  BRFED_ASSIGN_OR_RETURN(out.conditions, ParseConditions(status, "status"));
  return out;
}

Json VolumeRestoreStatusToJson(const VolumeRestoreStatus& status) {
  Json out = Json::object();
  auto put = [](Json& obj, const char* key, const std::string& value) {
    if (!value.empty()) obj[key] = value;
  };
  auto put_time = [](Json& obj, const char* key, const std::optional<Time>& t) {
    if (t.has_value()) obj[key] = FormatRfc3339(*t);
  };
  if (!status.restores.empty()) {
    Json restores = Json::array();
    for (const auto& r : status.restores) {
      Json e = Json::object();
      put(e, "k8sClusterName", r.k8s_cluster_name);
      put(e, "tcName", r.tc_name);
      put(e, "tcNamespace", r.tc_namespace);
      e["restoreName"] = r.restore_name;
      e["phase"] = r.phase;
      put(e, "commitTs", r.commit_ts);
      put(e, "reason", r.reason);
      put(e, "message", r.message);
      restores.push_back(std::move(e));
    }
    out["restores"] = std::move(restores);
  }
  if (!status.steps.empty()) {
    Json steps = Json::array();
    for (const auto& s : status.steps) {
      Json e = {{"stepName", s.step_name}};
      put_time(e, "timeStarted", s.time_started);
      put_time(e, "timeCompleted", s.time_completed);
      put(e, "timeTaken", s.time_taken);
      steps.push_back(std::move(e));
    }
    out["steps"] = std::move(steps);
  }
  put_time(out, "timeStarted", status.time_started);
  put_time(out, "timeCompleted", status.time_completed);
  put(out, "timeTaken", status.time_taken);
  put(out, "commitTs", status.commit_ts);
  put(out, "phase", status.phase);
  if (!status.conditions.empty()) {
    Json conds = Json::array();
    for (const auto& c : status.conditions) {
      Json e = {{"type", c.type}, {"status", c.status}};
      put_time(e, "lastTransitionTime", c.last_transition_time);
      put(e, "reason", c.reason);
      put(e, "message", c.message);
      conds.push_back(std::move(e));
    }
    out["conditions"] = std::move(conds);
  }
  return out;
}

bool VolumeRestoreView::HasFinalizer() const {
  return std::find(finalizers.begin(), finalizers.end(), kRestoreProtectionFinalizer) !=
         finalizers.end();
}

Result<VolumeRestoreView> ParseVolumeRestore(const Json& object) {
  if (!object.is_object()) return InvalidArgument("VolumeRestore must be an object");
  VolumeRestoreView v;
  v.name = JsonStringAt(object, {"metadata", "name"});
  v.ns = JsonStringAt(object, {"metadata", "namespace"});
  v.uid = JsonStringAt(object, {"metadata", "uid"});
  v.resource_version = JsonStringAt(object, {"metadata", "resourceVersion"});
  const Json* deletion = JsonAt(object, {"metadata", "deletionTimestamp"});
  v.deleting = deletion != nullptr && !deletion->is_null();
  if (const Json* f = JsonAt(object, {"metadata", "finalizers"}); f != nullptr && f->is_array()) {
    for (const Json& e : *f) {
      if (e.is_string()) v.finalizers.push_back(e.get<std::string>());
    }
  }
  v.labels = StringMap(object, {"metadata", "labels"});
  v.annotations = StringMap(object, {"metadata", "annotations"});
  if (const Json* st = JsonAt(object, {"status"}); st != nullptr) {
    BRFED_ASSIGN_OR_RETURN(v.status, ParseVolumeRestoreStatus(*st));
  }

  const Json* spec = JsonAt(object, {"spec"});
  if (spec == nullptr || spec->is_null()) return v;
  if (!spec->is_object()) return InvalidArgument("spec must be an object");
  if (auto it = spec->find("clusters"); it != spec->end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("spec.clusters must be a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& c = (*it)[i];
      const std::string where = "spec.clusters[" + std::to_string(i) + "]";
      if (!c.is_object()) return InvalidArgument(where + " must be an object");
      VolumeRestoreCluster cluster{StringField(c, "k8sClusterName"), StringField(c, "tcName"),
                                   StringField(c, "tcNamespace"), StringField(c, "azName"),
                                   nullptr};
      if (auto b = c.find("backup"); b != c.end() && !b->is_null()) {
        if (!b->is_object()) return InvalidArgument(where + ".backup must be an object");
        cluster.backup = &*b;
      }
      v.clusters.push_back(std::move(cluster));
    }
  }
  v.volume_backup_name = StringField(*spec, "volumeBackupName");
  if (auto t = spec->find("template"); t != spec->end() && !t->is_null()) {
    if (!t->is_object()) return InvalidArgument("spec.template must be an object");
    v.template_spec = &*t;
    v.warmup = StringField(*t, "warmup");
    v.warmup_image = StringField(*t, "warmupImage");
    v.warmup_strategy = StringField(*t, "warmupStrategy");
  }
  return v;
}

Result<RestoreMemberView> ParseRestoreMember(const Json& object,
                                             std::string_view k8s_cluster_name) {
  if (!object.is_object()) return InvalidArgument("Restore must be an object");
  RestoreMemberView m;
  m.k8s_cluster_name = std::string(k8s_cluster_name);
  m.name = JsonStringAt(object, {"metadata", "name"});
  m.ns = JsonStringAt(object, {"metadata", "namespace"});
  m.resource_version = JsonStringAt(object, {"metadata", "resourceVersion"});
  const Json* deletion = JsonAt(object, {"metadata", "deletionTimestamp"});
  m.deleting = deletion != nullptr && !deletion->is_null();
  m.owner_uid = JsonStringAt(object, {"metadata", "annotations", kOwnerUidAnnotation});
  m.owner = JsonStringAt(object, {"metadata", "annotations", kOwnerAnnotation});
  m.federal_phase = JsonStringAt(object, {"spec", "federalVolumeRestorePhase"});
  m.warmup_strategy = JsonStringAt(object, {"spec", "warmupStrategy"});
  m.tc_name = JsonStringAt(object, {"spec", "br", "cluster"});
  m.tc_namespace = JsonStringAt(object, {"spec", "br", "clusterNamespace"});
  m.phase = JsonStringAt(object, {"status", "phase"});
  m.commit_ts = JsonStringAt(object, {"status", "commitTs"});
  if (const Json* st = JsonAt(object, {"status"}); st != nullptr && st->is_object()) {
    BRFED_ASSIGN_OR_RETURN(m.conditions, ParseConditions(*st, "status"));
  }
  return m;
}

std::string RestoreMemberName(std::string_view volume_restore_name) {
  return "fed-" + std::string(volume_restore_name);
}

Json BuildRestoreMember(const VolumeRestoreView& restore, const VolumeRestoreCluster& cluster,
                        const Json& storage) {
  Json labels = Json::object();
  for (const auto& [k, v] : restore.labels) labels[k] = v;
  labels[std::string(kManagedByLabel)] = kManagedByValue;
  labels[std::string(kVolumeRestoreLabel)] = restore.name;
  Json annotations = Json::object();
  for (const auto& [k, v] : restore.annotations) annotations[k] = v;
  annotations[std::string(kOwnerAnnotation)] = restore.ns + "/" + restore.name;
  if (!restore.uid.empty()) annotations[std::string(kOwnerUidAnnotation)] = restore.uid;

  Json spec = {{"restoreMode", "volume-snapshot"},
               {"backupType", "full"},
               {"federalVolumeRestorePhase", federal_restore_phase::kRestoreVolume}};
  if (storage.is_object()) {
    for (auto it = storage.begin(); it != storage.end(); ++it) spec[it.key()] = it.value();
  }
  if (!cluster.az_name.empty()) spec["volumeAZ"] = cluster.az_name;

  Json br = {{"cluster", cluster.tc_name}, {"clusterNamespace", cluster.tc_namespace}};
  const Json empty = Json::object();
  const Json& tmpl = restore.template_spec != nullptr ? *restore.template_spec : empty;
  if (auto t = tmpl.find("br"); t != tmpl.end() && t->is_object()) {
    for (const char* key : {"concurrency", "checkRequirements", "sendCredToTikv", "options"}) {
      if (auto f = t->find(key); f != t->end() && !f->is_null()) br[key] = *f;
    }
  }
  spec["br"] = std::move(br);
  for (const char* key : {"resources", "env", "tolerations", "toolImage", "imagePullSecrets",
                          "serviceAccount", "priorityClassName", "warmup", "warmupImage",
                          "warmupStrategy", "additionalVolumes", "additionalVolumeMounts"}) {
    auto f = tmpl.find(key);
    if (f == tmpl.end() || f->is_null()) continue;
    if (f->is_string() && f->get_ref<const std::string&>().empty()) continue;
    spec[key] = *f;
  }

  Json member = {{"apiVersion", "pingcap.com/v1alpha1"},
                 {"kind", "Restore"},
                 {"metadata",
                  {{"name", RestoreMemberName(restore.name)},
                   {"namespace", cluster.tc_namespace},
                   {"labels", std::move(labels)},
                   {"annotations", std::move(annotations)}}},
                 {"spec", std::move(spec)}};
  return member;
}

Result<Json> RestoreStorageFromVolumeBackup(const Json& volume_backup,
                                            std::string_view k8s_cluster_name) {
  const std::string vbk = JsonStringAt(volume_backup, {"metadata", "name"});
  const Json* s3 = JsonAt(volume_backup, {"spec", "template", "s3"});
  if (s3 == nullptr || !s3->is_object()) {
    return InvalidArgument("VolumeBackup " + vbk + " has no spec.template.s3");
  }
  Json out_s3 = *s3;
  std::string backup_path;
  if (const Json* backups = JsonAt(volume_backup, {"status", "backups"});
      backups != nullptr && backups->is_array()) {
    for (const Json& b : *backups) {
      if (b.is_object() && StringField(b, "k8sClusterName") == k8s_cluster_name) {
        backup_path = StringField(b, "backupPath");
      }
    }
  }
  constexpr std::string_view kScheme = "s3://";
  if (!backup_path.empty()) {
    std::string_view rest(backup_path);
    if (rest.substr(0, kScheme.size()) != kScheme) {
      return InvalidArgument("VolumeBackup " + vbk + " member of cluster " +
                             std::string(k8s_cluster_name) + " has backupPath " + backup_path +
                             " that is not s3://<bucket>/<prefix>");
    }
    rest.remove_prefix(kScheme.size());
    const size_t slash = rest.find('/');
    const std::string bucket(rest.substr(0, slash));
    if (bucket.empty()) {
      return InvalidArgument("VolumeBackup " + vbk + " member of cluster " +
                             std::string(k8s_cluster_name) + " has backupPath " + backup_path +
                             " without a bucket");
    }
    out_s3["bucket"] = bucket;
    out_s3["prefix"] = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  } else {
    // Upstream's member prefix rule (contract a.10): "<template prefix>-<k8sClusterName>".
    out_s3["prefix"] = MemberS3Prefix(StringField(*s3, "prefix"), k8s_cluster_name);
  }
  return Json{{"s3", std::move(out_s3)}};
}

}  // namespace brfed::api
