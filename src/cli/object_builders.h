// Builds the federation objects `brfed ... create` submits (VolumeBackup, VolumeRestore,
// VolumeBackupSchedule) from parsed flags, and checks the flags that the API server cannot
// (name rules, enum values, durations) so that mistakes are reported before any request.
//
// Thread-safety: pure functions over values.
#ifndef BRFED_CLI_OBJECT_BUILDERS_H_
#define BRFED_CLI_OBJECT_BUILDERS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/cluster_flag.h"
#include "core/json.h"
#include "core/status.h"

namespace brfed::cli {

// Where and how members back up: spec.template of a VolumeBackup (and a schedule's
// backupTemplate.template).
struct BackupTemplateOptions {
  std::string bucket;
  std::string prefix;  // "" = the object's name
  std::string region;
  std::string endpoint;         // S3-compatible endpoint, optional
  std::string secret_name;      // s3.secretName, optional
  std::string clean_policy;     // Retain | OnFailure | Delete, optional
  std::string calc_size_level;  // all | full | incremental | none, optional
  std::string tool_image;
  std::vector<std::string> br_options;  // extra BR flags
};

struct VolumeBackupOptions {
  std::string name;
  std::string ns;
  std::vector<ClusterTarget> clusters;
  BackupTemplateOptions tmpl;
  std::map<std::string, std::string> labels;
};

struct VolumeRestoreOptions {
  std::string name;
  std::string ns;
  std::string from_backup;              // spec.volumeBackupName
  std::vector<ClusterTarget> clusters;  // restore targets; empty = the backup's clusters
  std::string warmup;                   // "" | sync | async
  std::string warmup_image;             // required with warmup
  std::string warmup_strategy;          // "" | hybrid | fio | fsr | check-wal-only
  std::vector<std::string> br_options;
  // Upstream form: each cluster carries its backup location instead of spec.volumeBackupName
  // (for managers that do not know the reference; the two are mutually exclusive).
  bool inline_locations = false;
};

struct VolumeBackupScheduleOptions {
  std::string name;
  std::string ns;
  std::string schedule;  // 5-field cron; checked by the controller
  std::vector<ClusterTarget> clusters;
  BackupTemplateOptions tmpl;
  int max_backups = 0;
  std::string max_reserved_time;  // Go duration, optional
  std::string group;              // tidb.pingcap.com/backup-schedule-group label
  bool paused = false;
};

Result<Json> BuildVolumeBackup(const VolumeBackupOptions& options);
// `source_backup` (the VolumeBackup named by from_backup, when readable) supplies the clusters
// when none are given, and with inline_locations each cluster's backup location.
Result<Json> BuildVolumeRestore(const VolumeRestoreOptions& options, const Json* source_backup);
Result<Json> BuildVolumeBackupSchedule(const VolumeBackupScheduleOptions& options);

// Parses "key=value" label flags.
Result<std::map<std::string, std::string>> ParseLabels(const std::vector<std::string>& values);

}  // namespace brfed::cli

#endif  // BRFED_CLI_OBJECT_BUILDERS_H_
