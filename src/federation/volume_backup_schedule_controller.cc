#include "federation/volume_backup_schedule_controller.h"

#include <nlohmann/json.hpp>

#include "kube/resource.h"
#include "runtime/store.h"

namespace brfed::federation {

VolumeBackupScheduleController::VolumeBackupScheduleController(ControllerDeps deps)
    : deps_(std::move(deps)), writer_(deps_.control_plane) {
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
  runtime::InformerOptions options;
  options.ns = deps_.watch_namespace;
  schedules_ = std::make_unique<runtime::Informer>(
      deps_.control_plane, kube::resources::VolumeBackupSchedule(), options, deps_.clock);
  volume_backups_ = std::make_unique<runtime::Informer>(
      deps_.control_plane, kube::resources::VolumeBackup(), options, deps_.clock);

  ScheduleControllerDeps core;
  core.list_schedules = [this](std::string_view ns) {
    return schedules_->store().ListNamespace(ns);
  };
  core.list_volume_backups = [this](std::string_view ns) {
    return volume_backups_->store().ListNamespace(ns);
  };
  DataPlanes* planes = deps_.data_planes;
  core.validate_volume_backup = VolumeBackupValidator(
      [planes] { return planes != nullptr ? planes->Names() : std::vector<std::string>(); });
  core.writer = &writer_;
  core.events = this;
  core.metrics = this;
  core.clock = deps_.clock;
  core_ = std::make_unique<ScheduleController>(std::move(core));

  controller_ = std::make_unique<runtime::Controller>(
      name_, [this](const std::string& key) { return Reconcile(key); }, deps_.workers,
      deps_.metrics, deps_.clock);
  auto on_schedule = [this](const Json& obj) {
    for (const std::string& key : core_->KeysForSchedule(obj)) controller_->queue().Add(key);
  };
  auto on_backup = [this](const Json& obj) {
    for (const std::string& key : core_->KeysForVolumeBackup(obj)) controller_->queue().Add(key);
  };
  schedules_->AddHandlers({on_schedule,
                           [on_schedule](const Json&, const Json& obj) { on_schedule(obj); },
                           on_schedule});
  volume_backups_->AddHandlers(
      {on_backup, [on_backup](const Json&, const Json& obj) { on_backup(obj); }, on_backup});
}

VolumeBackupScheduleController::~VolumeBackupScheduleController() { Stop(); }

Status VolumeBackupScheduleController::Start() {
  schedules_->Start();
  volume_backups_->Start();
  // Both caches must be in before the first decision: an empty backup cache would look like
  // "no backups" (and "all backups deleted").
  for (runtime::Informer* informer : {schedules_.get(), volume_backups_.get()}) {
    if (!informer->WaitForSync(std::chrono::seconds(60))) {
      return UnavailableError(informer->resource().plural + " cache did not sync within 60s");
    }
  }
  controller_->Start();
  return Status::Ok();
}

void VolumeBackupScheduleController::Stop() {
  if (controller_) controller_->Stop();
  if (schedules_) schedules_->Stop();
  if (volume_backups_) volume_backups_->Stop();
}

Result<runtime::ReconcileOutcome> VolumeBackupScheduleController::Reconcile(
    const std::string& key) {
  Result<std::optional<std::chrono::nanoseconds>> after = core_->Reconcile(key);
  if (!after.ok()) return after.status();
  runtime::ReconcileOutcome outcome;
  outcome.requeue_after = *after;
  // Safety net: look at every schedule again after one resync period at most.
  const std::chrono::nanoseconds resync = deps_.resync;
  if (schedules_->store().Get(ObjectKey::Parse(key)) != nullptr &&
      (!outcome.requeue_after || *outcome.requeue_after > resync)) {
    outcome.requeue_after = resync;
  }
  return outcome;
}

void VolumeBackupScheduleController::Record(const Json& involved_object, std::string_view type,
                                            std::string_view reason, std::string_view message) {
  if (deps_.events != nullptr) deps_.events->Record(involved_object, type, reason, message);
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
