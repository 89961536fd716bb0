// Typed views over the federation `VolumeRestore` (federation.pingcap.com/v1alpha1) and the
// data-plane member `Restore` (pingcap.com/v1alpha1), the VolumeRestore status model, and the
// builder of member Restores exactly as the Go br-federation-manager builds them
// (dataplane-contract a.10), plus our ownership label and annotation.
//
// Views borrow: a VolumeRestoreView holds pointers into the JSON object it was parsed from,
// which must outlive it. Everything else is a value. Objects stay JSON underneath so fields we
// do not model survive. Thread-safety: plain values and pure functions.
#ifndef BRFED_API_VOLUME_RESTORE_H_
#define BRFED_API_VOLUME_RESTORE_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/labels.h"
#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace brfed::api {

// Longest VolumeRestore name whose data-plane job name `restore-data-fed-<name>` still fits the
// 63-character limit of the `job-name` label Kubernetes puts on the Job's pods.
inline constexpr size_t kMaxVolumeRestoreNameLength =
    63 - std::string_view("restore-data-fed-").size();

// VolumeRestore condition types (also the values of status.phase).
namespace vrt_condition {
inline constexpr std::string_view kInvalid = "Invalid";
inline constexpr std::string_view kRunning = "Running";
inline constexpr std::string_view kVolumeComplete = "VolumeComplete";
inline constexpr std::string_view kWarmUpStarted = "WarmUpStarted";
inline constexpr std::string_view kWarmUpComplete = "WarmUpComplete";
inline constexpr std::string_view kTikvComplete = "TikvComplete";
inline constexpr std::string_view kDataComplete = "DataComplete";
inline constexpr std::string_view kComplete = "Complete";
inline constexpr std::string_view kFailed = "Failed";
inline constexpr std::string_view kCleaned = "Cleaned";
}  // namespace vrt_condition

// Member Restore condition types we read (dataplane-contract a.6) have the names of the
// VolumeRestore's own (which adds Running and Cleaned).
namespace restore_condition = vrt_condition;

// status.steps[].stepName values.
namespace restore_step {
inline constexpr std::string_view kRestoreVolume = "RestoreVolume";
inline constexpr std::string_view kStartTiKV = "StartTiKV";
inline constexpr std::string_view kWarmUp = "WarmUp";
inline constexpr std::string_view kRestoreData = "RestoreData";
inline constexpr std::string_view kRestartTiKV = "RestartTiKV";
}  // namespace restore_step

// Failure reasons on the VolumeRestore `Failed` condition.
namespace restore_reason {
inline constexpr std::string_view kMemberFailed = "VolumeRestoreMemberFailed";
inline constexpr std::string_view kMemberInvalid = "VolumeRestoreMemberInvalid";
inline constexpr std::string_view kMemberResolvedTsInvalid = "VolumeRestoreMemberResolvedTsInvalid";
inline constexpr std::string_view kInvalidSpec = "InvalidSpec";
}  // namespace restore_reason

// spec.federalVolumeRestorePhase of a member.
namespace federal_restore_phase {
inline constexpr std::string_view kRestoreVolume = "restore-volume";
inline constexpr std::string_view kRestoreData = "restore-data";
inline constexpr std::string_view kRestoreFinish = "restore-finish";
}  // namespace federal_restore_phase

namespace warmup_mode {
inline constexpr std::string_view kSync = "sync";
inline constexpr std::string_view kAsync = "async";
}  // namespace warmup_mode

namespace warmup_strategy {
inline constexpr std::string_view kFio = "fio";
inline constexpr std::string_view kHybrid = "hybrid";
inline constexpr std::string_view kFsr = "fsr";
inline constexpr std::string_view kCheckWalOnly = "check-wal-only";
}  // namespace warmup_strategy

// One status.conditions[] entry (VolumeRestore or member Restore).
struct RestoreCondition {
  std::string type;
  std::string status;  // "True" / "False" / "Unknown"
  std::string reason;
  std::string message;
  std::optional<Time> last_transition_time;
  bool operator==(const RestoreCondition&) const = default;
};

// The entry of `type`, or nullptr.
const RestoreCondition* FindRestoreCondition(const std::vector<RestoreCondition>& conditions,
                                             std::string_view type);
// True when the entry of `type` exists with status "True".
bool IsRestoreConditionTrue(const std::vector<RestoreCondition>& conditions, std::string_view type);

struct VolumeRestoreMemberStatus {
  std::string k8s_cluster_name;
  std::string tc_name;
  std::string tc_namespace;
  std::string restore_name;
  std::string phase;
  std::string commit_ts;
  std::string reason;
  std::string message;
  bool operator==(const VolumeRestoreMemberStatus&) const = default;
};

struct VolumeRestoreStep {
  std::string step_name;
  std::optional<Time> time_started;
  std::optional<Time> time_completed;
  std::string time_taken;
  bool operator==(const VolumeRestoreStep&) const = default;
};

struct VolumeRestoreStatus {
  std::vector<VolumeRestoreMemberStatus> restores;
  std::vector<VolumeRestoreStep> steps;
  std::optional<Time> time_started;
  std::optional<Time> time_completed;
  std::string time_taken;
  std::string commit_ts;
  std::string phase;
  std::vector<RestoreCondition> conditions;
  bool operator==(const VolumeRestoreStatus&) const = default;

  bool IsTrue(std::string_view type) const { return IsRestoreConditionTrue(conditions, type); }
  // Upstream's condition writer: stamps `now` when the entry is new or its status changes,
  // replaces reason/message, and sets `phase` to the type.
  void SetCondition(std::string_view type, std::string_view status, std::string_view reason,
                    std::string_view message, Time now);
  // Appends the step started at `now` unless it already exists.
  void StartStep(std::string_view step, Time now);
  // Stamps completion and timeTaken on a started, unfinished step; no-op otherwise.
  void FinishStep(std::string_view step, Time now);
  const VolumeRestoreStep* FindStep(std::string_view step) const;
};

// completed - started rounded to seconds, in Go duration form ("1m5s"), as upstream's timeTaken.
std::string FormatTimeTaken(Time started, Time completed);

// Parses `status` (an object, or null/absent for an empty status). Malformed entries are
// errors naming the field.
Result<VolumeRestoreStatus> ParseVolumeRestoreStatus(const Json& status);
// Serialises as upstream's JSON (unset optional fields omitted).
Json VolumeRestoreStatusToJson(const VolumeRestoreStatus& status);

// One spec.clusters[] entry.
struct VolumeRestoreCluster {
  std::string k8s_cluster_name;
  std::string tc_name;
  std::string tc_namespace;
  std::string az_name;
  const Json* backup = nullptr;  // clusters[].backup (a StorageProvider), or nullptr
};

struct VolumeRestoreView {
  std::string name;
  std::string ns;
  std::string uid;
  std::string resource_version;
  bool deleting = false;  // metadata.deletionTimestamp set
  std::vector<std::string> finalizers;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<VolumeRestoreCluster> clusters;
  const Json* template_spec = nullptr;  // spec.template, or nullptr
  std::string volume_backup_name;       // spec.volumeBackupName (ours)
  std::string warmup;
  std::string warmup_image;
  std::string warmup_strategy;
  VolumeRestoreStatus status;

  bool HasFinalizer() const;
};

// Parses a VolumeRestore object. Shape errors (e.g. spec.clusters not a list) are
// kInvalidArgument with the field path; they make the object Invalid, never a crash.
Result<VolumeRestoreView> ParseVolumeRestore(const Json& object);

// A member Restore as the decision logic sees it.
struct RestoreMemberView {
  std::string k8s_cluster_name;  // set by the caller: which data plane it was observed in
  std::string name;
  std::string ns;
  std::string resource_version;
  bool deleting = false;
  std::string owner_uid;  // kOwnerUidAnnotation, "" when absent (e.g. made by the Go manager)
  std::string owner;      // kOwnerAnnotation ("<namespace>/<name>"), "" when absent
  std::string federal_phase;
  std::string warmup_strategy;
  std::string tc_name;       // spec.br.cluster
  std::string tc_namespace;  // spec.br.clusterNamespace
  std::string phase;         // status.phase
  std::string commit_ts;     // status.commitTs
  std::vector<RestoreCondition> conditions;

  bool IsTrue(std::string_view type) const { return IsRestoreConditionTrue(conditions, type); }
};

Result<RestoreMemberView> ParseRestoreMember(const Json& object, std::string_view k8s_cluster_name);

// "fed-<volumeRestoreName>".
std::string RestoreMemberName(std::string_view volume_restore_name);

// The member Restore for `cluster`, as upstream builds it: restoreMode volume-snapshot,
// backupType full, phase restore-volume, `storage` (a StorageProvider object, e.g.
// {"s3": {...}}) inlined into spec, volumeAZ from azName, br converted with the TC's name and
// namespace, template pass-through fields, the VolumeRestore's labels and annotations, plus
// our managed-by and volume-restore labels and owner/owner-uid annotations (api/labels.h).
Json BuildRestoreMember(const VolumeRestoreView& restore, const VolumeRestoreCluster& cluster,
                        const Json& storage);

// The storage of the member of `volume_backup` (a VolumeBackup object) in `k8s_cluster_name`:
// the template's s3 settings with bucket and prefix taken from that member's
// status.backups[].backupPath ("s3://<bucket>/<prefix>"), falling back to
// "<template prefix>-<k8sClusterName>". Errors (kInvalidArgument) say what is missing.
Result<Json> RestoreStorageFromVolumeBackup(const Json& volume_backup,
                                            std::string_view k8s_cluster_name);

}  // namespace brfed::api

#endif  // BRFED_API_VOLUME_RESTORE_H_
