#include "federation/volume_backup_schedule_controller.h"

#include <nlohmann/json.hpp>

#include "kube/resource.h"
#include "runtime/cache.h"
#include "runtime/event_mappers.h"

namespace brfed::federation {

VolumeBackupScheduleController::VolumeBackupScheduleController(ControllerDeps deps)
    : deps_(std::move(deps)), writer_(deps_.control_plane, deps_.status_writer) {
  if (deps_.metrics != nullptr) {
    created_ =
        &deps_.metrics->AddCounter("brfed_schedule_backups_created_total",
                                   "VolumeBackups created by schedules", {"namespace", "schedule"});
    deleted_ = &deps_.metrics->AddCounter("brfed_schedule_retention_deletions_total",
                                          "VolumeBackups deleted by schedule retention",
                                          {"namespace", "schedule"});
    last_success_ = &deps_.metrics->AddGauge(
        "brfed_schedule_last_successful_backup_timestamp_seconds",
        "Completion time of the newest Complete VolumeBackup of each schedule",
        {"namespace", "schedule"});
  }
  schedules_ = deps_.informers->For(kube::resources::VolumeBackupSchedule());
  volume_backups_ = deps_.informers->For(kube::resources::VolumeBackup());

  ScheduleControllerDeps core;
  core.list_schedules = [this](std::string_view ns) {
    return schedules_->cache().ListNamespace(ns);
  };
  core.list_volume_backups = [this](std::string_view ns) {
    return volume_backups_->cache().ListNamespace(ns);
  };
  DataPlanes* planes = deps_.data_planes;
  core.validate_volume_backup = VolumeBackupValidator(
      [planes] { return planes != nullptr ? planes->Names() : std::vector<std::string>(); });
  core.unreachable_error = [planes](std::string_view cluster) {
    return planes != nullptr ? planes->UnreachableError(cluster) : std::string();
  };
  core.writer = &writer_;
  core.events = NewExecutorEventSink(deps_);
  core.metrics = this;
  core.clock = deps_.clock;
  core_ = std::make_unique<ScheduleController>(std::move(core));

  controller_ = std::make_unique<runtime::Controller>(
      name_, [this](const std::string& key) { return Reconcile(key); }, deps_.workers,
      deps_.metrics, deps_.clock);
  schedules_->AddHandlers(runtime::EnqueueMapped(
      &controller_->queue(), [this](const Json& obj) { return core_->KeysForSchedule(obj); }));
  volume_backups_->AddHandlers(runtime::EnqueueMapped(
      &controller_->queue(), [this](const Json& obj) { return core_->KeysForVolumeBackup(obj); }));
}

VolumeBackupScheduleController::~VolumeBackupScheduleController() { Stop(); }

Status VolumeBackupScheduleController::Start() {
  // Both caches must be in before the first decision: an empty backup cache would look like
  // "no backups" (and "all backups deleted").
  BRFED_RETURN_IF_ERROR(StartInformers(deps_, {schedules_.get(), volume_backups_.get()}));
  controller_->Start();
  return Status::Ok();
}

// The shared informers are stopped by their factory's owner, after every controller.
void VolumeBackupScheduleController::Stop() {
  if (controller_) controller_->Stop();
}

Result<runtime::ReconcileOutcome> VolumeBackupScheduleController::Reconcile(
    const std::string& key) {
  Result<std::optional<std::chrono::nanoseconds>> after = core_->Reconcile(key);
  if (!after.ok()) return after.status();
  // A schedule is live as long as it exists.
  const bool live = schedules_->cache().Get(ObjectKey::Parse(key)) != nullptr;
  return WithResyncSafetyNet(*after, live, deps_.resync);
}

void VolumeBackupScheduleController::BackupCreated(std::string_view ns, std::string_view schedule) {
  if (created_ != nullptr) created_->WithLabels({std::string(ns), std::string(schedule)}).Inc();
}

void VolumeBackupScheduleController::RetentionDeleted(std::string_view ns,
                                                      std::string_view schedule) {
  if (deleted_ != nullptr) deleted_->WithLabels({std::string(ns), std::string(schedule)}).Inc();
}

void VolumeBackupScheduleController::LastSuccessfulBackup(std::string_view ns,
                                                          std::string_view schedule, Time t) {
  if (last_success_ == nullptr) return;
  const double seconds = std::chrono::duration<double>(t.time_since_epoch()).count();
  last_success_->WithLabels({std::string(ns), std::string(schedule)}).Set(seconds);
}

}  // namespace brfed::federation
