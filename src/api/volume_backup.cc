#include "api/volume_backup.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/backup_member.h"
#include "api/labels.h"
#include "core/excerpt.h"
#include "core/object_ref.h"
#include "core/strings.h"
#include "core/time.h"

namespace brfed::api {
namespace {

constexpr double kMinSnapshotsDeleteRatio = 0.1;
constexpr double kMaxSnapshotsDeleteRatio = 2.0;

// Template fields upstream copies verbatim onto every member. automountServiceAccountToken is
// in the CRD but not among them: upstream drops it, and so do we (the data plane's default
// applies), so a template behaves the same under either manager.
constexpr std::string_view kCopiedTemplateFields[] = {"cleanPolicy",
                                                      "calcSizeLevel",
                                                      "toolImage",
                                                      "serviceAccount",
                                                      "env",
                                                      "resources",
                                                      "tolerations",
                                                      "priorityClassName",
                                                      "imagePullSecrets",
                                                      "additionalVolumes",
                                                      "additionalVolumeMounts"};

constexpr std::string_view kCopiedBrFields[] = {"concurrency", "checkRequirements",
                                                "sendCredToTikv", "options"};

}  // namespace

std::vector<ClusterRef> VolumeBackupClusters(const Json& volume_backup) {
  std::vector<ClusterRef> clusters;
  const Json* list = JsonAt(volume_backup, {"spec", "clusters"});
  if (list == nullptr || !list->is_array()) return clusters;
  for (const Json& c : *list) {
    clusters.push_back({JsonStringAt(c, {"k8sClusterName"}), JsonStringAt(c, {"tcName"}),
                        JsonStringAt(c, {"tcNamespace"})});
  }
  return clusters;
}

std::string MemberName(std::string_view volume_backup_name) {
  return "fed-" + std::string(volume_backup_name);
}

std::string MemberS3Prefix(std::string_view template_prefix, std::string_view k8s_cluster_name) {
  return std::string(template_prefix) + "-" + std::string(k8s_cluster_name);
}

bool SnapshotsDeleteRatioOutOfRange(const Json& volume_backup) {
  const Json* ratio = JsonAt(volume_backup, {"spec", "template", "snapshotsDeleteRatio"});
  if (ratio == nullptr || ratio->is_null()) return false;
  if (!ratio->is_number()) return true;
  double value = ratio->get<double>();
  return value < kMinSnapshotsDeleteRatio || value > kMaxSnapshotsDeleteRatio;
}

double MemberSnapshotsDeleteRatio(const Json& volume_backup) {
  const Json* ratio = JsonAt(volume_backup, {"spec", "template", "snapshotsDeleteRatio"});
  if (ratio == nullptr || !ratio->is_number() || SnapshotsDeleteRatioOutOfRange(volume_backup)) {
    return 1.0;
  }
  return ratio->get<double>();
}

Json BuildBackupMember(const Json& volume_backup, const ClusterRef& cluster, bool initialize) {
  const std::string vb_name = JsonStringAt(volume_backup, {"metadata", "name"});
  const std::string vb_namespace = JsonStringAt(volume_backup, {"metadata", "namespace"});
  static const Json kEmpty = Json::object();
  const Json* tmpl_ptr = JsonAt(volume_backup, {"spec", "template"});
  const Json& tmpl = tmpl_ptr != nullptr && tmpl_ptr->is_object() ? *tmpl_ptr : kEmpty;

  Json metadata = {{"name", MemberName(vb_name)}, {"namespace", cluster.tc_namespace}};
  Json labels = Json::object();
  if (const Json* l = JsonAt(volume_backup, {"metadata", "labels"}); l && l->is_object()) {
    labels = *l;
  }
  labels[std::string(kManagedByLabel)] = kManagedByValue;
  labels[std::string(kVolumeBackupLabel)] = vb_name;
  metadata["labels"] = std::move(labels);
  Json annotations = Json::object();
  if (const Json* a = JsonAt(volume_backup, {"metadata", "annotations"}); a && a->is_object()) {
    annotations = *a;
  }
  annotations[std::string(kOwnerAnnotation)] = vb_namespace + "/" + vb_name;
  annotations[std::string(kOwnerUidAnnotation)] = JsonStringAt(volume_backup, {"metadata", "uid"});
  metadata["annotations"] = std::move(annotations);

  Json spec = Json::object();
  for (std::string_view field : kCopiedTemplateFields) {
    if (auto it = tmpl.find(field); it != tmpl.end() && !it->is_null()) spec[field] = *it;
  }
  Json br = {{"cluster", cluster.tc_name}, {"clusterNamespace", cluster.tc_namespace}};
  if (const Json* tbr = JsonAt(tmpl, {"br"}); tbr != nullptr && tbr->is_object()) {
    for (std::string_view field : kCopiedBrFields) {
      if (auto it = tbr->find(field); it != tbr->end() && !it->is_null()) br[field] = *it;
    }
  }
  spec["br"] = std::move(br);
  if (const Json* s3 = JsonAt(tmpl, {"s3"}); s3 != nullptr && s3->is_object()) {
    Json member_s3 = *s3;
    member_s3["prefix"] = MemberS3Prefix(JsonStringAt(*s3, {"prefix"}), cluster.k8s_cluster_name);
    spec["s3"] = std::move(member_s3);
  }
  spec["cleanOption"] = {{"snapshotsDeleteRatio", MemberSnapshotsDeleteRatio(volume_backup)}};
  spec["backupMode"] = kBackupModeVolumeSnapshot;
  spec["backupType"] = "full";
  spec["federalVolumeBackupPhase"] =
      initialize ? federal_backup_phase::kInitialize : federal_backup_phase::kExecute;
  if (initialize) {
    if (auto it = tmpl.find("volumeBackupInitJobMaxActiveSeconds");
        it != tmpl.end() && it->is_number_integer()) {
      spec["volumeBackupInitJobMaxActiveSeconds"] = *it;
    }
  }
  return Json{{"apiVersion", "pingcap.com/v1alpha1"},
              {"kind", "Backup"},
              {"metadata", std::move(metadata)},
              {"spec", std::move(spec)}};
}

bool MemberBelongsTo(const Json& member, const Json& volume_backup) {
  const std::string uid = JsonStringAt(member, {"metadata", "annotations", kOwnerUidAnnotation});
  if (!uid.empty()) return uid == JsonStringAt(volume_backup, {"metadata", "uid"});
  return JsonStringAt(member, {"metadata", "annotations", kOwnerAnnotation}) ==
         JsonStringAt(volume_backup, {"metadata", "namespace"}) + "/" +
             JsonStringAt(volume_backup, {"metadata", "name"});
}

namespace {

// spec.clusters entries: objects with a known, unique k8sClusterName and valid tcName and
// tcNamespace.
void ValidateClusters(const Json& list, const std::vector<std::string>& known_clusters,
                      std::vector<ValidationIssue>& issues) {
  std::set<std::string> seen;
  std::vector<std::string> known = known_clusters;
  std::sort(known.begin(), known.end());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& entry = list[i];
    const std::string where = "spec.clusters[" + std::to_string(i) + "]";
    if (!entry.is_object()) {
      issues.push_back({"InvalidCluster", where + " must be an object"});
      continue;
    }
    const std::string k8s = JsonStringAt(entry, {"k8sClusterName"});
    if (k8s.empty()) {
      issues.push_back({"InvalidCluster", where + ".k8sClusterName is missing"});
    } else if (!seen.insert(k8s).second) {
      issues.push_back({"DuplicateCluster", where + ".k8sClusterName '" + Excerpt(k8s) +
                                                "' appears more than once; each data plane "
                                                "may be listed only once"});
    } else if (!std::binary_search(known.begin(), known.end(), k8s)) {
      issues.push_back({"UnknownCluster",
                        where + ".k8sClusterName '" + Excerpt(k8s) +
                            "' is not a context of the federation kubeconfig; known contexts: " +
                            (known.empty() ? std::string("(none)") : Join(known, ", "))});
    }
    for (const char* field : {"tcName", "tcNamespace"}) {
      const std::string value = JsonStringAt(entry, {field});
      if (value.empty()) {
        issues.push_back({"InvalidCluster", where + "." + field + " is missing"});
      } else if (std::string problem = ValidateDnsLabel(value); !problem.empty()) {
        issues.push_back({"InvalidCluster", where + "." + field + " '" + Excerpt(value) +
                                                "' is invalid: " + problem});
      }
    }
  }
}

// spec.template: br, s3 with a bucket, a positive init-job deadline.
void ValidateTemplate(const Json& tmpl, std::vector<ValidationIssue>& issues) {
  const Json* br = JsonAt(tmpl, {"br"});
  if (br == nullptr || !br->is_object()) {
    issues.push_back({"MissingBR", "spec.template.br is missing (it may be empty: {})"});
  }
  const Json* s3 = JsonAt(tmpl, {"s3"});
  if (s3 == nullptr || !s3->is_object()) {
    issues.push_back({"MissingS3",
                      "spec.template.s3 is missing: EBS snapshot backups keep their metadata "
                      "in S3 (gcs, azblob and local are not supported)"});
  } else if (JsonStringAt(*s3, {"bucket"}).empty()) {
    issues.push_back({"MissingS3", "spec.template.s3.bucket is missing"});
  }
  if (const Json* deadline = JsonAt(tmpl, {"volumeBackupInitJobMaxActiveSeconds"});
      deadline != nullptr && !deadline->is_null() &&
      (!deadline->is_number_integer() || deadline->get<long long>() <= 0 ||
       deadline->get<long long>() > kMaxInitJobMaxActiveSeconds)) {
    issues.push_back({"InvalidTemplate",
                      "spec.template.volumeBackupInitJobMaxActiveSeconds must be a positive "
                      "whole number of seconds, at most " +
                          std::to_string(kMaxInitJobMaxActiveSeconds) +
                          " (default 600; it bounds the GC pause), got " +
                          Excerpt(deadline->dump())});
  }
}

}  // namespace

bool IsGoManagerMember(const Json& member, const Json& volume_backup) {
  return IsGoManagerMember(member, volume_backup, "federalVolumeBackupPhase");
}

Json AdoptionPatch(const Json& member, const Json& volume_backup) {
  return AdoptionPatch(member, volume_backup, kVolumeBackupLabel);
}

std::vector<ValidationIssue> ValidateVolumeBackup(const Json& volume_backup,
                                                  const std::vector<std::string>& known_clusters) {
  std::vector<ValidationIssue> issues;
  const std::string name = JsonStringAt(volume_backup, {"metadata", "name"});
  if (name.size() > kMaxVolumeBackupNameLength) {
    issues.push_back({"NameTooLong", "name '" + Excerpt(name) + "' has " +
                                         std::to_string(name.size()) + " characters; at most " +
                                         std::to_string(kMaxVolumeBackupNameLength) +
                                         " fit, because the data plane's init Job "
                                         "'backup-fed-<name>-init' must stay within 63 "
                                         "characters"});
  }
  const Json* list = JsonAt(volume_backup, {"spec", "clusters"});
  if (list == nullptr || !list->is_array() || list->empty()) {
    issues.push_back({"NoClusters",
                      "spec.clusters is empty: list every data plane with k8sClusterName, tcName "
                      "and tcNamespace (clusters[0] runs the GC pause)"});
  } else {
    ValidateClusters(*list, known_clusters, issues);
  }
  const Json* tmpl = JsonAt(volume_backup, {"spec", "template"});
  if (tmpl == nullptr || !tmpl->is_object()) {
    issues.push_back({"MissingTemplate", "spec.template is missing: it needs br and s3"});
  } else {
    ValidateTemplate(*tmpl, issues);
  }
  return issues;
}

}  // namespace brfed::api
