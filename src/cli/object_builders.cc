#include "cli/object_builders.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/volume_backup.h"
#include "api/volume_restore.h"
#include "core/duration.h"
#include "core/excerpt.h"
#include "core/object_ref.h"
#include "core/strings.h"

namespace brfed::cli {
namespace {

constexpr const char* kFederationApiVersion = "federation.pingcap.com/v1alpha1";

// `max_length`: what the manager accepts for this kind (longer names become Invalid there,
// because they end up in data-plane Job names of at most 63 characters).
Status CheckName(std::string_view what, const std::string& name, size_t max_length) {
  if (std::string err = ValidateDnsSubdomain(name); !err.empty()) {
    return InvalidArgument(std::string(what) + " " + Quote(name) + " is not a valid name: " + err +
                           "; use lower-case letters, digits and '-'");
  }
  if (name.size() > max_length) {
    return InvalidArgument(std::string(what) + " " + Quote(name) + " has " +
                           std::to_string(name.size()) + " characters; at most " +
                           std::to_string(max_length) + " fit");
  }
  return Status::Ok();
}

// A schedule's backups are named "<schedule>-<UTC 2006-01-02t15-04-05>".
constexpr size_t kMaxScheduleNameLength =
    api::kMaxVolumeBackupNameLength - std::string_view("-2006-01-02t15-04-05").size();

Status CheckOneOf(std::string_view flag, const std::string& value,
                  std::initializer_list<std::string_view> allowed) {
  if (value.empty()) return Status::Ok();
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return Status::Ok();
  return InvalidArgument(std::string(flag) + " \"" + value + "\" is not one of: " +
                         Join(allowed, ", ", [](std::string_view a) { return std::string(a); }));
}

Status CheckClusters(const std::vector<ClusterTarget>& clusters) {
  if (clusters.empty()) {
    return InvalidArgument(
        "no --cluster given; name every data plane as --cluster CONTEXT=NAMESPACE/TIDBCLUSTER "
        "(the first one pauses GC and PD scheduling)");
  }
  return Status::Ok();
}

Json ClustersJson(const std::vector<ClusterTarget>& clusters) {
  Json list = Json::array();
  for (const ClusterTarget& c : clusters) {
    list.push_back({{"k8sClusterName", c.k8s_cluster_name},
                    {"tcName", c.tc_name},
                    {"tcNamespace", c.tc_namespace}});
  }
  return list;
}

Result<Json> TemplateJson(const BackupTemplateOptions& t, const std::string& default_prefix) {
  if (t.bucket.empty()) {
    return InvalidArgument("--bucket is required: the S3 bucket members write backup metadata to");
  }
  BRFED_RETURN_IF_ERROR(
      CheckOneOf("--clean-policy", t.clean_policy, {"Retain", "OnFailure", "Delete"}));
  BRFED_RETURN_IF_ERROR(
      CheckOneOf("--calc-size-level", t.calc_size_level, {"all", "full", "incremental", "none"}));
  Json s3 = {{"provider", "aws"},
             {"bucket", t.bucket},
             {"prefix", t.prefix.empty() ? default_prefix : t.prefix}};
  if (!t.region.empty()) s3["region"] = t.region;
  if (!t.endpoint.empty()) s3["endpoint"] = t.endpoint;
  if (!t.secret_name.empty()) s3["secretName"] = t.secret_name;
  Json br = Json::object();
  if (!t.br_options.empty()) br["options"] = t.br_options;
  Json tmpl = {{"br", br}, {"s3", s3}};
  if (!t.clean_policy.empty()) tmpl["cleanPolicy"] = t.clean_policy;
  if (!t.calc_size_level.empty()) tmpl["calcSizeLevel"] = t.calc_size_level;
  if (!t.tool_image.empty()) tmpl["toolImage"] = t.tool_image;
  return tmpl;
}

Json Metadata(const std::string& name, const std::string& ns) {
  Json meta = {{"name", name}};
  if (!ns.empty()) meta["namespace"] = ns;
  return meta;
}

}  // namespace

Result<std::map<std::string, std::string>> ParseLabels(const std::vector<std::string>& values) {
  std::map<std::string, std::string> labels;
  for (const std::string& v : values) {
    const size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("malformed --label " + Quote(v) + "; expected KEY=VALUE");
    }
    const std::string key = v.substr(0, eq), value = v.substr(eq + 1);
    std::string err = ValidateLabelKey(key);
    if (err.empty()) err = ValidateLabelValue(value);
    if (!err.empty()) return InvalidArgument("malformed --label " + Quote(v) + ": " + err);
    labels[key] = value;
  }
  return labels;
}

Result<Json> BuildVolumeBackup(const VolumeBackupOptions& o) {
  BRFED_RETURN_IF_ERROR(CheckName("VolumeBackup name", o.name, api::kMaxVolumeBackupNameLength));
  BRFED_RETURN_IF_ERROR(CheckClusters(o.clusters));
  BRFED_ASSIGN_OR_RETURN(Json tmpl, TemplateJson(o.tmpl, o.name));
  Json vb = {{"apiVersion", kFederationApiVersion},
             {"kind", "VolumeBackup"},
             {"metadata", Metadata(o.name, o.ns)},
             {"spec", {{"clusters", ClustersJson(o.clusters)}, {"template", tmpl}}}};
  if (!o.labels.empty()) vb["metadata"]["labels"] = o.labels;
  return vb;
}

Result<Json> BuildVolumeRestore(const VolumeRestoreOptions& o, const Json* source_backup) {
  BRFED_RETURN_IF_ERROR(CheckName("VolumeRestore name", o.name, api::kMaxVolumeRestoreNameLength));
  if (o.from_backup.empty()) {
    return InvalidArgument("--from-backup is required: the VolumeBackup to restore from");
  }
  BRFED_RETURN_IF_ERROR(CheckName("--from-backup", o.from_backup, api::kMaxVolumeBackupNameLength));
  BRFED_RETURN_IF_ERROR(CheckOneOf("--warmup", o.warmup, {"sync", "async"}));
  BRFED_RETURN_IF_ERROR(CheckOneOf("--warmup-strategy", o.warmup_strategy,
                                   {"hybrid", "fio", "fsr", "check-wal-only"}));
  if (!o.warmup.empty() && o.warmup_image.empty()) {
    return InvalidArgument("--warmup " + o.warmup +
                           " needs --warmup-image (the image of the volume warm-up jobs)");
  }
  Json tmpl = {{"br", Json::object()}};
  if (!o.br_options.empty()) tmpl["br"]["options"] = o.br_options;
  if (!o.warmup.empty()) tmpl["warmup"] = o.warmup;
  if (!o.warmup_image.empty()) tmpl["warmupImage"] = o.warmup_image;
  if (!o.warmup_strategy.empty()) tmpl["warmupStrategy"] = o.warmup_strategy;
  Json spec = {{"template", tmpl}};
  if (!o.inline_locations) spec["volumeBackupName"] = o.from_backup;

  std::vector<ClusterTarget> targets = o.clusters;
  if (targets.empty() && source_backup) {
    if (const Json* clusters = JsonAt(*source_backup, {"spec", "clusters"});
        clusters && clusters->is_array()) {
      for (const Json& c : *clusters) {
        targets.push_back({JsonStringAt(c, {"k8sClusterName"}), JsonStringAt(c, {"tcNamespace"}),
                           JsonStringAt(c, {"tcName"})});
      }
    }
  }
  if (!targets.empty()) spec["clusters"] = ClustersJson(targets);
  if (o.inline_locations) {
    // Each cluster's backup location: <template prefix>-<k8sClusterName> in the source bucket.
    const Json* s3 = source_backup ? JsonAt(*source_backup, {"spec", "template", "s3"}) : nullptr;
    if (!s3 || !s3->is_object() || targets.empty()) {
      return InvalidArgument("--inline-locations needs the source VolumeBackup's S3 location");
    }
    for (Json& c : spec["clusters"]) {
      Json member_s3 = *s3;
      member_s3["prefix"] =
          JsonStringAt(*s3, {"prefix"}) + "-" + c["k8sClusterName"].get<std::string>();
      c["backup"] = {{"s3", member_s3}};
    }
  }
  return Json{{"apiVersion", kFederationApiVersion},
              {"kind", "VolumeRestore"},
              {"metadata", Metadata(o.name, o.ns)},
              {"spec", spec}};
}

Result<Json> BuildVolumeBackupSchedule(const VolumeBackupScheduleOptions& o) {
  BRFED_RETURN_IF_ERROR(CheckName("VolumeBackupSchedule name", o.name, kMaxScheduleNameLength));
  if (o.schedule.empty()) {
    return InvalidArgument("--schedule is required: a 5-field cron such as \"0 */6 * * *\"");
  }
  BRFED_RETURN_IF_ERROR(CheckClusters(o.clusters));
  if (o.max_backups < 0) return InvalidArgument("--max-backups must be 0 (no limit) or more");
  if (!o.max_reserved_time.empty()) {
    Result<std::chrono::nanoseconds> d = ParseGoDuration(o.max_reserved_time);
    if (!d.ok() || d->count() <= 0) {
      return InvalidArgument("--max-reserved-time \"" + o.max_reserved_time +
                             "\" is not a positive duration such as 72h or 30m");
    }
  }
  BRFED_ASSIGN_OR_RETURN(Json tmpl, TemplateJson(o.tmpl, o.name));
  Json spec = {{"schedule", o.schedule},
               {"pause", o.paused},
               {"backupTemplate", {{"clusters", ClustersJson(o.clusters)}, {"template", tmpl}}}};
  if (o.max_backups > 0) spec["maxBackups"] = o.max_backups;
  if (!o.max_reserved_time.empty()) spec["maxReservedTime"] = o.max_reserved_time;
  Json vbks = {{"apiVersion", kFederationApiVersion},
               {"kind", "VolumeBackupSchedule"},
               {"metadata", Metadata(o.name, o.ns)},
               {"spec", spec}};
  if (!o.group.empty()) {
    vbks["metadata"]["labels"] = {{"tidb.pingcap.com/backup-schedule-group", o.group}};
  }
  return vbks;
}

}  // namespace brfed::cli
