// Label, annotation and finalizer keys that br-federation-manager reads and writes: upstream's
// (kept for compatibility) and our own ownership markers on data-plane members.
//
// Thread-safety: constants.
#ifndef BRFED_API_LABELS_H_
#define BRFED_API_LABELS_H_

#include <string_view>

namespace brfed::api {

// Upstream finalizers on the federation kinds.
inline constexpr std::string_view kBackupProtectionFinalizer = "tidb.pingcap.com/backup-protection";
inline constexpr std::string_view kRestoreProtectionFinalizer =
    "tidb.pingcap.com/restore-protection";

// Upstream schedule labels on VolumeBackups a schedule creates.
inline constexpr std::string_view kBackupScheduleLabel = "tidb.pingcap.com/backup-schedule";
inline constexpr std::string_view kBackupScheduleGroupLabel =
    "tidb.pingcap.com/backup-schedule-group";

// Ours, on every member Backup/Restore we create. The informers in the data planes select
// members with kManagedBySelector; the owner annotations map a member back to its federation
// object ("<namespace>/<name>") and tell a member of an older, deleted object of the same name
// (different uid) from ours.
inline constexpr std::string_view kManagedByLabel = "federation.pingcap.com/managed-by";
inline constexpr std::string_view kManagedByValue = "br-federation-manager";
inline constexpr std::string_view kManagedBySelector =
    "federation.pingcap.com/managed-by=br-federation-manager";
inline constexpr std::string_view kVolumeBackupLabel = "federation.pingcap.com/volume-backup";
inline constexpr std::string_view kVolumeRestoreLabel = "federation.pingcap.com/volume-restore";
inline constexpr std::string_view kOwnerAnnotation = "federation.pingcap.com/owner";
inline constexpr std::string_view kOwnerUidAnnotation = "federation.pingcap.com/owner-uid";

// Ours, on a VolumeBackup (or a schedule, which copies its annotations to the backups it
// creates): a Go duration that overrides the manager's --gc-pause-budget for that backup.
inline constexpr std::string_view kGcPauseBudgetAnnotation =
    "federation.pingcap.com/gc-pause-budget";

}  // namespace brfed::api

#endif  // BRFED_API_LABELS_H_
