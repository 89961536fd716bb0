#include "api/backup_member.h"

#include <nlohmann/json.hpp>

#include "api/conditions.h"

namespace brfed::api {
namespace {

bool IsVolumeSnapshotMode(const Json& member) {
  return JsonStringAt(member, {"spec", "backupMode"}) == kBackupModeVolumeSnapshot;
}

bool GatedTrue(const Json& member, std::string_view type) {
  return IsVolumeSnapshotMode(member) && IsConditionTrue(StatusOf(member), type);
}

}  // namespace

std::string MemberFederalPhase(const Json& member) {
  return JsonStringAt(member, {"spec", "federalVolumeBackupPhase"});
}

bool MemberResumeGcSchedule(const Json& member) {
  return JsonBoolAt(member, {"spec", "resumeGcSchedule"});
}

bool IsVolumeBackupInitialized(const Json& member) {
  return GatedTrue(member, backup_condition::kVolumeBackupInitialized);
}
bool IsVolumeBackupInitializeFailed(const Json& member) {
  return GatedTrue(member, backup_condition::kVolumeBackupInitializeFailed);
}
bool IsVolumeBackupSnapshotsCreated(const Json& member) {
  return GatedTrue(member, backup_condition::kVolumeBackupSnapshotsCreated);
}
bool IsVolumeBackupInitializeComplete(const Json& member) {
  return GatedTrue(member, backup_condition::kVolumeBackupInitializeComplete);
}
bool IsVolumeBackupComplete(const Json& member) {
  return GatedTrue(member, backup_condition::kVolumeBackupComplete);
}
bool IsVolumeBackupFailed(const Json& member) {
  return GatedTrue(member, backup_condition::kVolumeBackupFailed);
}
bool IsBackupComplete(const Json& member) {
  return IsConditionTrue(StatusOf(member), backup_condition::kComplete);
}
bool IsBackupFailed(const Json& member) {
  return IsConditionTrue(StatusOf(member), backup_condition::kFailed);
}
bool IsBackupInvalid(const Json& member) {
  return IsConditionTrue(StatusOf(member), backup_condition::kInvalid);
}
bool IsBackupCleanFailed(const Json& member) {
  return IsConditionTrue(StatusOf(member), backup_condition::kCleanFailed);
}

bool IsMemberFailed(const Json& member) {
  return IsVolumeBackupInitializeFailed(member) || IsVolumeBackupFailed(member) ||
         IsBackupFailed(member) || IsBackupInvalid(member);
}

bool IsMemberTerminal(const Json& member) {
  return IsBackupComplete(member) || IsBackupFailed(member) || IsBackupInvalid(member);
}

bool IsMemberPauseHeld(const Json& member) {
  return IsVolumeBackupInitialized(member) && !IsVolumeBackupInitializeComplete(member) &&
         !IsVolumeBackupInitializeFailed(member) && !IsVolumeBackupFailed(member) &&
         !IsMemberTerminal(member);
}

std::string MemberFailureSummary(const Json& member) {
  const Json& status = StatusOf(member);
  for (std::string_view type :
       {backup_condition::kVolumeBackupInitializeFailed, backup_condition::kVolumeBackupFailed,
        backup_condition::kInvalid, backup_condition::kFailed}) {
    if (!IsConditionTrue(status, type)) continue;
    std::string summary(type);
    std::string reason = ConditionReason(status, type);
    std::string message = ConditionMessage(status, type);
    if (!reason.empty()) summary += " (" + reason + ")";
    if (!message.empty()) summary += ": " + message;
    return summary;
  }
  return "";
}

}  // namespace brfed::api
