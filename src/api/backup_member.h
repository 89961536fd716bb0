// A typed view over a data-plane `pingcap.com/v1alpha1` Backup (a federation member): the
// condition strings and predicates of the data-plane contract (reference a.3, a.8), exactly as
// TiDB Operator evaluates them. The object stays JSON.
//
// Thread-safety: pure functions over caller-owned values.
#ifndef BRFED_API_BACKUP_MEMBER_H_
#define BRFED_API_BACKUP_MEMBER_H_

#include <string>
#include <string_view>

#include "core/json.h"

namespace brfed::api {

// Data-plane Backup condition types used by the federal volume-snapshot protocol.
namespace backup_condition {
inline constexpr std::string_view kScheduled = "Scheduled";
inline constexpr std::string_view kRunning = "Running";
inline constexpr std::string_view kPrepare = "Prepare";
inline constexpr std::string_view kComplete = "Complete";
inline constexpr std::string_view kFailed = "Failed";
inline constexpr std::string_view kInvalid = "Invalid";
inline constexpr std::string_view kClean = "Clean";
inline constexpr std::string_view kCleanFailed = "CleanFailed";
inline constexpr std::string_view kVolumeBackupInitialized = "VolumeBackupInitialized";
inline constexpr std::string_view kVolumeBackupInitializeFailed = "VolumeBackupInitializeFailed";
inline constexpr std::string_view kVolumeBackupSnapshotsCreated = "VolumeBackupSnapshotsCreated";
inline constexpr std::string_view kVolumeBackupInitializeComplete =
    "VolumeBackupInitializeComplete";
inline constexpr std::string_view kVolumeBackupComplete = "VolumeBackupComplete";
inline constexpr std::string_view kVolumeBackupFailed = "VolumeBackupFailed";
}  // namespace backup_condition

// spec.federalVolumeBackupPhase values.
namespace federal_backup_phase {
inline constexpr std::string_view kInitialize = "initialize";
inline constexpr std::string_view kExecute = "execute";
inline constexpr std::string_view kTeardown = "teardown";
}  // namespace federal_backup_phase

inline constexpr std::string_view kBackupModeVolumeSnapshot = "volume-snapshot";

// spec.federalVolumeBackupPhase ("" when unset).
std::string MemberFederalPhase(const Json& member);
// spec.resumeGcSchedule.
bool MemberResumeGcSchedule(const Json& member);

// The mode-gated predicates (spec.backupMode must be volume-snapshot).
bool IsVolumeBackupInitialized(const Json& member);
bool IsVolumeBackupInitializeFailed(const Json& member);
bool IsVolumeBackupSnapshotsCreated(const Json& member);
bool IsVolumeBackupInitializeComplete(const Json& member);
bool IsVolumeBackupComplete(const Json& member);
bool IsVolumeBackupFailed(const Json& member);
// The ungated ones.
bool IsBackupComplete(const Json& member);
bool IsBackupFailed(const Json& member);
bool IsBackupInvalid(const Json& member);
bool IsBackupCleanFailed(const Json& member);

// Any of InitializeFailed, VolumeBackupFailed, Failed or Invalid: the federation fails the
// VolumeBackup (after teardown) when a member reaches one of these.
bool IsMemberFailed(const Json& member);
// Complete, Failed or Invalid: the data plane writes nothing more for this member.
bool IsMemberTerminal(const Json& member);
// True when the member's init job (GC/PD-scheduling pause) may still be running after it was
// initialized: Initialized, and none of InitializeComplete, InitializeFailed,
// VolumeBackupFailed, Failed, Complete, Invalid.
bool IsMemberPauseHeld(const Json& member);

// The first failure condition's type, reason and message ("" when the member has not failed),
// for status and messages: "VolumeBackupFailed (BackupDataToRemoteFailed): <message>".
std::string MemberFailureSummary(const Json& member);

}  // namespace brfed::api

#endif  // BRFED_API_BACKUP_MEMBER_H_
