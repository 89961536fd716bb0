// A typed view over a `federation.pingcap.com/v1alpha1` VolumeBackup: accessors, its condition
// types, up-front validation, and the builder of data-plane member Backups exactly as upstream
// builds them (reference a.10), plus our ownership label and annotations. Objects stay JSON so
// fields we do not model survive.
//
// Thread-safety: pure functions over caller-owned values.
#ifndef BRFED_API_VOLUME_BACKUP_H_
#define BRFED_API_VOLUME_BACKUP_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/metadata.h"  // HasFinalizer, IsBeingDeleted for the users of this view
#include "core/json.h"
#include "core/status.h"

namespace brfed::api {

// VolumeBackup condition types (and phases).
namespace volume_backup_condition {
inline constexpr std::string_view kInvalid = "Invalid";
inline constexpr std::string_view kRunning = "Running";
inline constexpr std::string_view kSnapshotsCreated = "SnapshotsCreated";
inline constexpr std::string_view kComplete = "Complete";
inline constexpr std::string_view kFailed = "Failed";
inline constexpr std::string_view kCleaned = "Cleaned";
inline constexpr std::string_view kCleanFailed = "CleanFailed";
}  // namespace volume_backup_condition

// Reason of `Failed` when members failed (upstream's).
inline constexpr std::string_view kReasonMemberFailed = "VolumeBackupMemberFailed";

// One entry of spec.clusters[]; missing fields read as "".
struct ClusterRef {
  std::string k8s_cluster_name;
  std::string tc_name;
  std::string tc_namespace;
};

std::vector<ClusterRef> VolumeBackupClusters(const Json& volume_backup);

// "fed-<name>": the member's name in every data plane.
std::string MemberName(std::string_view volume_backup_name);
// "<prefix>-<k8sClusterName>": a member's S3 prefix.
std::string MemberS3Prefix(std::string_view template_prefix, std::string_view k8s_cluster_name);

// Longest VolumeBackup name whose data-plane init Job name `backup-fed-<name>-init` still fits
// the 63-character limit of the `job-name` label Kubernetes puts on the Job's pods.
// The largest spec.template.volumeBackupInitJobMaxActiveSeconds accepted (6 h). It is the
// data plane's only bound on a GC and PD-scheduling pause that nothing else releases (a hung or
// unreachable data plane), so an unbounded value could hold the pause for days. Six hours is
// 36 times the 600 s default; snapshot creation needs the pause for seconds to minutes.
inline constexpr long long kMaxInitJobMaxActiveSeconds = 6 * 3600;
inline constexpr size_t kMaxVolumeBackupNameLength =
    63 - std::string_view("backup-fed--init").size();

// snapshotsDeleteRatio as upstream sends it: the template value, or 1.0 when it is missing or
// outside [0.1, 2.0].
double MemberSnapshotsDeleteRatio(const Json& volume_backup);
// True when the template sets a snapshotsDeleteRatio that MemberSnapshotsDeleteRatio replaces.
bool SnapshotsDeleteRatioOutOfRange(const Json& volume_backup);

// The member Backup for `cluster`: `initialize` (with the init-job deadline) for clusters[0],
// else `execute`.
Json BuildBackupMember(const Json& volume_backup, const ClusterRef& cluster, bool initialize);

// Whether `member` was created for this VolumeBackup object (same owner uid). A member without
// our uid annotation is treated as ours when its owner annotation names this object.
bool MemberBelongsTo(const Json& member, const Json& volume_backup);

// Whether `member` is one the Go br-federation-manager built for this VolumeBackup: named
// `fed-<name>`, without any of our marks (managed-by label, owner annotations), with a
// federalVolumeBackupPhase, created no earlier than the VolumeBackup, and carrying every label
// of the VolumeBackup (upstream copies them all). Such a member is adopted, not recreated.
bool IsGoManagerMember(const Json& member, const Json& volume_backup);
// The merge patch that adopts a Go-built member: our label and owner annotations, carrying the
// member's resourceVersion so an adoption decided on a stale read gets Conflict.
Json AdoptionPatch(const Json& member, const Json& volume_backup);

// The annotation kGcPauseBudgetAnnotation: nullopt when absent, an error naming the annotation
// when it is not a positive Go duration of at most 24h.
Result<std::optional<std::chrono::milliseconds>> GcPauseBudgetOf(const Json& volume_backup);

// One problem found by ValidateVolumeBackup: a machine reason and a message telling the user
// what to fix.
struct ValidationIssue {
  std::string reason;
  std::string message;
};

// Up-front checks before any member exists: clusters present and unique, each context known
// (`known_clusters` are the federation kubeconfig's contexts), tcName/tcNamespace valid DNS
// labels, template with br and s3 (with bucket), name short enough, init-job deadline positive,
// the GC-pause budget annotation (when present) a positive Go duration.
std::vector<ValidationIssue> ValidateVolumeBackup(const Json& volume_backup,
                                                  const std::vector<std::string>& known_clusters);

}  // namespace brfed::api

#endif  // BRFED_API_VOLUME_BACKUP_H_
